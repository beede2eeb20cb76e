package airflow_flink_k8s.sandbox.jobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
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
 * <p>Arguments: {@code --start-offset N} (default 0) and {@code --rate N} records per second (default 10).
 */
public final class CheckpointingJob {

    static final String JOB_NAME = "checkpointing-job";
    private static final long DEFAULT_CHECKPOINT_INTERVAL_MS = 2000L;
    private static final int KEYS = 8;

    private CheckpointingJob() {}

    public static void main(String[] args) throws Exception {
        long startOffset = 0L;
        double rate = 10.0;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!name.equals("--start-offset") && !name.equals("--rate")) {
                throw new IllegalArgumentException(
                        "unknown argument " + name + " (expected --start-offset N or --rate N)");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + ": a value must follow");
            }
            String value = args[++i];
            try {
                if (name.equals("--start-offset")) {
                    startOffset = Long.parseLong(value);
                } else {
                    rate = Double.parseDouble(value);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + ": not a number: " + value, e);
            }
            if (name.equals("--start-offset") && startOffset < 0) {
                throw new IllegalArgumentException("--start-offset: must be >= 0, got " + value);
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
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "generator")
                .keyBy(value -> value % KEYS, Types.LONG)
                .reduce((left, right) -> left + right)
                .sinkTo(new DiscardingSink<>());
        env.execute(JOB_NAME);
    }
}
