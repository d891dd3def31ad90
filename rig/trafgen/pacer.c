/*
 * pacer.c - real-time set-up and sleep-then-spin waits
 */
#include "trafgen/pacer.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int64_t trafgen_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

int64_t trafgen_pacer_max_guard(int64_t period_ns)
{
    return period_ns * (100 - TRAFGEN_MIN_SLEEP_PERCENT) / 100;
}

void trafgen_pacer_add_notice(TrafgenPacer *pacer, const char *text)
{
    if (pacer->notice[0]) {
        g_strlcat(pacer->notice, "; ", sizeof(pacer->notice));
    }
    g_strlcat(pacer->notice, text, sizeof(pacer->notice));
}

gboolean trafgen_pacer_setup(const TrafgenPacerConfig *config,
                             TrafgenPacer *ret_pacer, GError **error)
{
    TrafgenPacer pacer = {0};
    struct sched_param param = {0};
    char text[128];

    pacer.guard_ns = MAX(config->guard_ns, 0);
    pacer.cpu = -1;
    g_strlcpy(pacer.policy, "SCHED_OTHER", sizeof(pacer.policy));

    if (config->cpu >= 0) {
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(config->cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0) {
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
                        "cannot pin to CPU %d: %s (see nproc)", config->cpu,
                        g_strerror(errno));
            return FALSE;
        }
        pacer.cpu = config->cpu;
    }

    /* the default 50 us slack would be added to every wake-up */
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) < 0) {
        g_snprintf(text, sizeof(text), "PR_SET_TIMERSLACK failed: %s",
                   g_strerror(errno));
        trafgen_pacer_add_notice(&pacer, text);
    }

    if (config->lock_memory) {
        if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0) {
            pacer.memory_locked = TRUE;
        } else {
            g_snprintf(text, sizeof(text), "mlockall failed: %s",
                       g_strerror(errno));
            trafgen_pacer_add_notice(&pacer, text);
        }
    }

    if (config->realtime) {
        param.sched_priority =
            config->fifo_priority > 0 ? config->fifo_priority : 50;
        if (sched_setscheduler(0, SCHED_FIFO, &param) == 0) {
            pacer.fifo = TRUE;
            g_snprintf(pacer.policy, sizeof(pacer.policy), "SCHED_FIFO/%d",
                       param.sched_priority);
        } else {
            int errsv = errno;

            /* root is refused too when its cgroup has no real-time
             * runtime (cpu.rt_runtime_us): say so, not "run as root" */
            g_snprintf(text, sizeof(text),
                       "SCHED_FIFO/%d refused (%s): pacing under SCHED_OTHER "
                       "has ms outliers; %s",
                       param.sched_priority, g_strerror(errsv),
                       errsv == EINVAL ? "priorities are 1..99"
                       : geteuid() == 0
                           ? "this cgroup may grant no real-time runtime "
                             "(cpu.rt_runtime_us)"
                           : "run as root or grant CAP_SYS_NICE");
            trafgen_pacer_add_notice(&pacer, text);
        }
    }

    *ret_pacer = pacer;
    return TRUE;
}

int64_t trafgen_pacer_wait(int64_t wake_ns, int64_t deadline_ns)
{
    int64_t now;

    if (trafgen_now_ns() < wake_ns) {
        struct timespec ts = {
            .tv_sec = wake_ns / G_GINT64_CONSTANT(1000000000),
            .tv_nsec = wake_ns % G_GINT64_CONSTANT(1000000000),
        };

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR) {
            /* a signal (the interrupt handler) must not cut the wait short */
        }
    }
    do {
        now = trafgen_now_ns();
    } while (now < deadline_ns);
    return now;
}

int64_t trafgen_pacer_spin_until(TrafgenDodger *dodger, int64_t deadline_ns)
{
    int64_t last = trafgen_now_ns();

    while (last < deadline_ns) {
        int64_t now = trafgen_now_ns();

        if (dodger && now - last >= TRAFGEN_DODGE_STALL_MIN_NS) {
            trafgen_dodger_note_stall(dodger, last, now);
        }
        last = now;
    }
    return last;
}

void trafgen_pacer_restore(TrafgenPacer *pacer)
{
    struct sched_param param = {0};

    if (pacer->fifo) {
        sched_setscheduler(0, SCHED_OTHER, &param);
        pacer->fifo = FALSE;
    }
}
