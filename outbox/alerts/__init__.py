"""Customer alerts to phones: SMS and KakaoTalk Alimtalk providers."""
