package airflow_flink_k8s_sandbox.jobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A small unbounded job with checkpointing on, for the sandbox and tests.
 *
 * <p>A rate-limited generator emits {@code start-offset, start-offset + 1, ...}; the numbers are keyed by their
 * value modulo 8 and summed per key (keyed state that every checkpoint includes), then discarded. The checkpoint
 * interval comes from the cluster configuration when it sets one, otherwise it is 2 s. It compiles against Flink
 * 1.20 and 2.x: every class it uses lives in flink-dist under the same name in both.
 *
 * <p>Arguments: {@code --start-offset N} (default 0), {@code --rate N} records per second (default 10) and
 * {@code --fail-after-seconds N} (default: never), which makes a task throw that many seconds after it first sees a
 * record, so that the job fails with a known root cause when the cluster allows no restarts.
 *
 * <p>{@code --log-every N} (default: never) prints {@code checkpointing-job: record V} to the TaskManager's output
 * for the first record and then every N-th record each subtask of the generator emits: the generator's position is
 * state, so after a restore the printed values continue from where the stopped job was.
 */
public final class CheckpointingJob {

    static final String JOB_NAME = "checkpointing-job";
    private static final long DEFAULT_CHECKPOINT_INTERVAL_MS = 2000L;
    private static final int KEYS = 8;

    private CheckpointingJob() {}

    public static void main(String[] args) throws Exception {
        long startOffset = 0L;
        double rate = 10.0;
        long failAfterSeconds = -1L;
        long logEvery = -1L;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!name.equals("--start-offset") && !name.equals("--rate") && !name.equals("--fail-after-seconds")
                    && !name.equals("--log-every")) {
                throw new IllegalArgumentException(
                        "unknown argument " + name
                                + " (expected --start-offset N, --rate N, --fail-after-seconds N or --log-every N)");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + ": a value must follow");
            }
            String value = args[++i];
            try {
                if (name.equals("--start-offset")) {
                    startOffset = Long.parseLong(value);
                } else if (name.equals("--fail-after-seconds")) {
                    failAfterSeconds = Long.parseLong(value);
                } else if (name.equals("--log-every")) {
                    logEvery = Long.parseLong(value);
                } else {
                    rate = Double.parseDouble(value);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + ": not a number: " + value, e);
            }
            if (name.equals("--start-offset") && startOffset < 0) {
                throw new IllegalArgumentException("--start-offset: must be >= 0, got " + value);
            }
            if (name.equals("--fail-after-seconds") && failAfterSeconds < 0) {
                throw new IllegalArgumentException("--fail-after-seconds: must be >= 0, got " + value);
            }
            if (name.equals("--log-every") && logEvery < 1) {
                throw new IllegalArgumentException("--log-every: must be >= 1, got " + value);
            }
            if (name.equals("--rate") && !(rate > 0)) {
                throw new IllegalArgumentException("--rate: must be > 0 records/s, got " + value);
            }
        }
        System.out.println(JOB_NAME + ": start offset " + startOffset + ", rate " + rate + " records/s");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
            env.enableCheckpointing(DEFAULT_CHECKPOINT_INTERVAL_MS);
        }
        final long offset = startOffset;
        DataGeneratorSource<Long> source =
                new DataGeneratorSource<>(
                        index -> offset + index,
                        Long.MAX_VALUE - offset,
                        RateLimiterStrategy.perSecond(rate),
                        Types.LONG);
        DataStream<Long> numbers = env.fromSource(source, WatermarkStrategy.noWatermarks(), "generator");
        if (logEvery >= 1) {
            numbers = numbers.map(new LogEvery(logEvery)).returns(Types.LONG);
        }
        if (failAfterSeconds >= 0) {
            numbers = numbers.map(new FailAfter(failAfterSeconds * 1000L)).returns(Types.LONG);
        }
        numbers.keyBy(value -> value % KEYS, Types.LONG)
                .reduce((left, right) -> left + right)
                .sinkTo(new DiscardingSink<>());
        env.execute(JOB_NAME);
    }

    /** Passes records through, printing the first one and then every {@code every}-th. */
    static final class LogEvery implements MapFunction<Long, Long> {
        private static final long serialVersionUID = 1L;
        private final long every;
        private transient long seen;

        LogEvery(long every) {
            this.every = every;
        }

        @Override
        public Long map(Long value) {
            if (seen++ % every == 0) {
                System.out.println(JOB_NAME + ": record " + value);
            }
            return value;
        }
    }

    /** Passes records through until {@code failAfterMs} after the first one, then throws. */
    static final class FailAfter implements MapFunction<Long, Long> {
        private static final long serialVersionUID = 1L;
        private final long failAfterMs;
        private transient long firstRecordAt;

        FailAfter(long failAfterMs) {
            this.failAfterMs = failAfterMs;
        }

        @Override
        public Long map(Long value) {
            long now = System.currentTimeMillis();
            if (firstRecordAt == 0L) {
                firstRecordAt = now;
            }
            if (now - firstRecordAt >= failAfterMs) {
                throw new IllegalStateException(
                        JOB_NAME + ": failing on purpose after " + failAfterMs / 1000L + " s (--fail-after-seconds)");
            }
            return value;
        }
    }
}
