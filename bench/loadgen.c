/*
 * Ondol load generator: publishes QoS-1 telemetry for many devices, each on its own contract topic
 * (ondol/v1/{device}/telemetry), from a few connections, with a bounded window of unacknowledged
 * messages per connection. Written in C on libmosquitto so that generating the load costs a few
 * microseconds per message and does not starve the system it measures of CPU.
 *
 * Usage: loadgen HOST PORT CONNECTIONS DEVICES MESSAGES_PER_DEVICE WINDOW PREFIX [RATE]
 * Prints on stdout, when done: "sent N acked N seconds S rate R" (rate = acked per second).
 * RATE (messages/s, optional) paces the run; 0 or absent means as fast as the broker takes them.
 */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    struct mosquitto *mosq;
    volatile long sent;
    volatile long acked;
} conn_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid) {
    (void)mosq;
    (void)mid;
    __atomic_add_fetch(&((conn_t *)obj)->acked, 1, __ATOMIC_RELAXED);
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS DEVICES MESSAGES_PER_DEVICE WINDOW PREFIX [RATE [TOPIC_ROOT]]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), nconn = atoi(argv[3]), devices = atoi(argv[4]);
    long per_device = atol(argv[5]);
    int window = atoi(argv[6]);
    const char *prefix = argv[7];
    double rate = argc > 8 ? atof(argv[8]) : 0.0;
    /* Baselines publish outside the contract's root so that no gateway subscribed to it takes them too. */
    const char *root = argc > 9 ? argv[9] : "ondol/v1";
    if (nconn < 1 || devices < 1 || per_device < 1 || window < 1) {
        fprintf(stderr, "connections, devices, messages and window must be positive\n");
        return 2;
    }
    mosquitto_lib_init();
    conn_t *conns = calloc((size_t)nconn, sizeof(conn_t));
    for (int i = 0; i < nconn; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-loadgen-%d-%d", prefix, (int)getpid(), i);
        conns[i].mosq = mosquitto_new(id, true, &conns[i]);
        mosquitto_int_option(conns[i].mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_max_inflight_messages_set(conns[i].mosq, (unsigned int)window);
        mosquitto_publish_callback_set(conns[i].mosq, on_publish);
        if (mosquitto_connect(conns[i].mosq, host, port, 60) != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "cannot connect to %s:%d\n", host, port);
            return 1;
        }
        mosquitto_loop_start(conns[i].mosq);
    }
    long total = (long)devices * per_device;
    char topic[128], payload[768];
    double start = now_s();
    time_t base = time(NULL) - (time_t)(per_device * 60);
    for (long k = 0; k < total; k++) {
        long round = k / devices;
        int device = (int)(k % devices);
        conn_t *c = &conns[device % nconn];
        while (c->sent - __atomic_load_n(&c->acked, __ATOMIC_RELAXED) >= window) usleep(50);
        if (rate > 0) {
            double due = start + k / rate;
            double wait = due - now_s();
            if (wait > 0) usleep((useconds_t)(wait * 1e6));
        }
        time_t ts = base + round * 60;
        struct tm tm;
        gmtime_r(&ts, &tm);
        double sent_at = now_s();
        snprintf(topic, sizeof topic, "%s/%s-%06d/telemetry", root, prefix, device);
        int n = snprintf(payload, sizeof payload,
            "{\"seq\":%ld,\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\",\"ch_flow_c\":%.1f,\"ch_return_c\":%.1f,"
            "\"ch_setpoint_c\":60.0,\"dhw_c\":44.5,\"dhw_setpoint_c\":45.0,\"outdoor_c\":%.1f,\"room_c\":%.2f,"
            "\"room_setpoint_c\":21.0,\"flue_c\":%.1f,\"ch_pressure_bar\":1.45,\"modulation_pct\":%.1f,"
            "\"flame_on\":true,\"flame_current_ua\":7.9,\"fan_rpm\":%d,\"burner_starts\":%ld,"
            "\"failed_starts\":12,\"flame_loss_count\":3,\"burner_hours\":%.3f,\"dhw_flow_lpm\":0.0,"
            "\"gas_total_m3\":%.3f,\"mode\":\"heat\",\"sent_at\":%.6f}",
            round + 1, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            55.0 + (k % 20), 40.0 + (k % 15), -5.0 + (k % 10), 20.0 + (k % 7) * 0.1, 48.0 + (k % 9),
            30.0 + (k % 60), 2000 + (int)(k % 3000), 10000 + round, 5000.0 + round * 0.1,
            6000.0 + round * 0.2, sent_at);
        int rc = mosquitto_publish(c->mosq, NULL, topic, n, payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "publish failed: %s\n", mosquitto_strerror(rc));
            return 1;
        }
        c->sent++;
    }
    long sent = 0, acked = 0;
    for (;;) {
        sent = acked = 0;
        for (int i = 0; i < nconn; i++) {
            sent += conns[i].sent;
            acked += __atomic_load_n(&conns[i].acked, __ATOMIC_RELAXED);
        }
        if (acked >= sent) break;
        usleep(1000);
    }
    double seconds = now_s() - start;
    printf("sent %ld acked %ld seconds %.3f rate %.0f\n", sent, acked, seconds, acked / seconds);
    for (int i = 0; i < nconn; i++) {
        mosquitto_disconnect(conns[i].mosq);
        mosquitto_loop_stop(conns[i].mosq, false);
        mosquitto_destroy(conns[i].mosq);
    }
    mosquitto_lib_cleanup();
    return 0;
}
