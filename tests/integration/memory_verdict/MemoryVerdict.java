import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;

/**
 * Flink's own verdict on memory configurations. One case per stdin line, tab-separated:
 * {@code id <TAB> jm|tm <TAB> key=value <TAB> key=value ...}; one answer per line:
 * {@code id <TAB> OK <TAB> name=bytes ...} or {@code id <TAB> ERR <TAB> message}.
 * The JobManager is checked as the CLI client does (legacy heap mapped to the process size) and, on Flink 1.x,
 * as the JobManager's start script does (legacy heap mapped to jobmanager.memory.heap.size); both must accept.
 */
public final class MemoryVerdict {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\t", -1);
            Map<String, String> map = new HashMap<>();
            for (int i = 2; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                map.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
            String answer;
            try {
                answer = "OK\t" + ("jm".equals(parts[1]) ? jobManager(map) : taskManager(map));
            } catch (Throwable t) {
                Throwable cause = t instanceof InvocationTargetException ? t.getCause() : t;
                StringBuilder message = new StringBuilder(cause.getClass().getSimpleName() + ": " + cause.getMessage());
                for (Throwable c = cause.getCause(); c != null; c = c.getCause()) {
                    message.append(" | caused by ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
                }
                answer = "ERR\t" + message.toString().replace('\t', ' ').replace('\n', ' ');
            }
            System.out.println(parts[0] + "\t" + answer);
            System.out.flush();
        }
    }

    private static String jobManager(Map<String, String> map) throws Exception {
        Method legacy = null;
        for (Method m : JobManagerProcessUtils.class.getMethods()) {
            if (m.getName().equals("processSpecFromConfigWithNewOptionToInterpretLegacyHeap")) {
                legacy = m;
            }
        }
        JobManagerProcessSpec spec;
        if (legacy == null) { // Flink 2.x: no legacy heap options
            spec = (JobManagerProcessSpec) JobManagerProcessUtils.class.getMethod("processSpecFromConfig",
                    Configuration.class).invoke(null, Configuration.fromMap(map));
        } else {
            legacy.invoke(null, Configuration.fromMap(map), JobManagerOptions.TOTAL_PROCESS_MEMORY); // client
            spec = (JobManagerProcessSpec) legacy.invoke(null, Configuration.fromMap(map),
                    JobManagerOptions.JVM_HEAP_MEMORY); // JobManager start script (BashJavaUtils)
        }
        return "process=" + spec.getTotalProcessMemorySize().getBytes()
                + " flink=" + spec.getTotalFlinkMemorySize().getBytes()
                + " heap=" + spec.getJvmHeapMemorySize().getBytes()
                + " off_heap=" + spec.getJvmDirectMemorySize().getBytes()
                + " metaspace=" + spec.getJvmMetaspaceSize().getBytes()
                + " overhead=" + spec.getJvmOverheadSize().getBytes();
    }

    private static String taskManager(Map<String, String> map) throws Exception {
        Configuration conf = Configuration.fromMap(map);
        for (Method m : TaskExecutorProcessUtils.class.getMethods()) {
            if (m.getName().equals("getConfigurationMapLegacyTaskManagerHeapSizeToConfigOption")) { // Flink 1.x
                conf = (Configuration) m.invoke(null, conf, (ConfigOption<?>) TaskManagerOptions.TOTAL_PROCESS_MEMORY);
            }
        }
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
        return "process=" + spec.getTotalProcessMemorySize().getBytes()
                + " flink=" + spec.getTotalFlinkMemorySize().getBytes()
                + " framework_heap=" + spec.getFlinkMemory().getFrameworkHeap().getBytes()
                + " framework_off_heap=" + spec.getFlinkMemory().getFrameworkOffHeap().getBytes()
                + " task_heap=" + spec.getTaskHeapSize().getBytes()
                + " task_off_heap=" + spec.getTaskOffHeapSize().getBytes()
                + " network=" + spec.getNetworkMemSize().getBytes()
                + " managed=" + spec.getManagedMemorySize().getBytes()
                + " metaspace=" + spec.getJvmMetaspaceSize().getBytes()
                + " overhead=" + spec.getJvmOverheadSize().getBytes();
    }
}
