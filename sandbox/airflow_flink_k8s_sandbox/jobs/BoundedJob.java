package airflow_flink_k8s_sandbox.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.accumulators.LongMaximum;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A small bounded job for the sandbox and tests: it runs in {@code BATCH} mode and ends FINISHED (or FAILED).
 *
 * <p>A generator emits the {@code --records N} numbers {@code F .. F+N-1} (default 1000, from {@code --from F}, default
 * 0); a map counts them in the accumulator {@code records} and keeps their maximum plus one in {@code next-offset}:
 * where a stream that continues after this input must start. The records are then discarded. With {@code --fail} the map throws on the last record,
 * so the job fails with a known root cause when the cluster allows no restarts. It compiles against Flink 1.20 and
 * 2.x: every class it uses lives in flink-dist under the same name in both.
 */
public final class BoundedJob {

    static final String JOB_NAME = "bounded-job";
    static final String RECORDS_ACCUMULATOR = "records";
    static final String NEXT_OFFSET_ACCUMULATOR = "next-offset";

    private BoundedJob() {}

    public static void main(String[] args) throws Exception {
        long records = 1000L;
        long from = 0L;
        boolean fail = false;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--fail")) {
                fail = true;
            } else if ((name.equals("--records") || name.equals("--from")) && i + 1 < args.length) {
                String value = args[++i];
                long number;
                try {
                    number = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + ": not a number: " + value, e);
                }
                if (number < (name.equals("--records") ? 1 : 0)) {
                    throw new IllegalArgumentException(name + ": out of range: " + value);
                }
                if (name.equals("--records")) {
                    records = number;
                } else {
                    from = number;
                }
            } else {
                throw new IllegalArgumentException(
                        "unknown argument " + name + " (expected --records N, --from N or --fail)");
            }
        }
        System.out.println(JOB_NAME + ": " + records + " records from " + from
                + (fail ? ", failing on the last one" : ""));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        final long first = from;
        DataGeneratorSource<Long> source = new DataGeneratorSource<>(index -> first + index, records, Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "numbers")
                .map(new Count(from + records, fail))
                .returns(Types.LONG)
                .sinkTo(new DiscardingSink<>());
        env.execute(JOB_NAME);
        System.out.println(JOB_NAME + ": done");
    }

    /** Counts the records and keeps the next offset; throws on the last record ({@code end - 1}) when asked to. */
    static final class Count extends RichMapFunction<Long, Long> {
        private static final long serialVersionUID = 1L;
        private final long end;
        private final boolean fail;
        private final LongCounter counted = new LongCounter();
        private final LongMaximum nextOffset = new LongMaximum();

        Count(long end, boolean fail) {
            this.end = end;
            this.fail = fail;
        }

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext context) {
            getRuntimeContext().addAccumulator(RECORDS_ACCUMULATOR, counted);
            getRuntimeContext().addAccumulator(NEXT_OFFSET_ACCUMULATOR, nextOffset);
        }

        @Override
        public Long map(Long value) {
            if (fail && value == end - 1) {
                throw new IllegalStateException(JOB_NAME + ": failing on purpose at record " + value + " (--fail)");
            }
            counted.add(1L);
            nextOffset.add(value + 1);
            return value;
        }
    }
}
