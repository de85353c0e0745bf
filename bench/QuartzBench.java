/*
 * QuartzBench.java - the peer of bench/sched_bench.c: Quartz 2.3.2's
 * clustered JDBC job store (JobStoreTX, StdJDBCDelegate, HikariCP) on the
 * same MariaDB, no-op jobs.
 *
 *   java -cp quartz2.jar:mariadb-java-client.jar:HikariCP.jar:slf4j-api.jar:
 *        slf4j-nop.jar:DIR QuartzBench JDBC_URL JOBS SECS THREADS BATCH
 *
 * JDBC_URL names an empty database (jdbc:mariadb://host:port/db?user=root);
 * the tables come from the jar's own tables_mysql_innodb.sql.  JOBS jobs,
 * each with a CronTrigger "* * * * * ?" from the next whole second T0 + 3 s
 * for exactly SECS fires (endAt), so JOBS triggers fall due every second -
 * the same load as sched_bench's JOBS CRON jobs.  THREADS is
 * org.quartz.threadPool.threadCount (stock 10), BATCH is
 * org.quartz.scheduler.batchTriggerAcquisitionMaxCount (stock 1); the data
 * source gets THREADS + 3 connections (Quartz's advice).  Misfire threshold
 * 60 s (stock), clustered, check-in every 20 s.
 * Waits until the last fire is more than 15 s past (or every fire ran),
 * then prints one line:
 *   quartz THREADS BATCH asked fired fired_in_window triggers/s p50 p99 max
 * triggers/s = fired / (last execution start - first fire time); lag =
 * execution start - scheduled fire time (Quartz's dispatch to the job),
 * in ms; fired_in_window = fires that started before the last fire time
 * + 1 s.
 * Threads: Quartz's scheduler thread and worker pool; the job records its
 * lag in a lock-free array.
 */
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

import org.quartz.CronScheduleBuilder;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobExecutionContext;
import org.quartz.Scheduler;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.impl.StdSchedulerFactory;

public class QuartzBench {
	static AtomicLongArray lag;    /* ms, one slot per fire */
	static AtomicLongArray start;  /* execution start, epoch ms */
	static final AtomicInteger fired = new AtomicInteger();

	public static class NoOp implements Job {
		public void execute(JobExecutionContext c) {
			long now = System.currentTimeMillis();
			int k = fired.getAndIncrement();
			if (k < lag.length()) {
				lag.set(k, now - c.getScheduledFireTime().getTime());
				start.set(k, now);
			}
		}
	}

	static void createTables(String url) throws Exception {
		InputStream in = Scheduler.class.getClassLoader().getResourceAsStream(
		    "org/quartz/impl/jdbcjobstore/tables_mysql_innodb.sql");
		StringBuilder sql = new StringBuilder();
		try (BufferedReader r = new BufferedReader(
		         new InputStreamReader(in, StandardCharsets.UTF_8))) {
			for (String line; (line = r.readLine()) != null;) {
				if (!line.trim().startsWith("#")
				    && !line.trim().startsWith("--")) {
					sql.append(line).append('\n');
				}
			}
		}
		try (Connection c = DriverManager.getConnection(url);
		     Statement st = c.createStatement()) {
			for (String s : sql.toString().split(";")) {
				String t = s.trim();
				if (!t.isEmpty() && !t.equalsIgnoreCase("commit")) {
					st.execute(t);
				}
			}
		}
	}

	public static void main(String[] a) throws Exception {
		String url = a[0];
		int jobs = Integer.parseInt(a[1]), secs = Integer.parseInt(a[2]);
		int threads = Integer.parseInt(a[3]), batch = Integer.parseInt(a[4]);
		int asked = jobs * secs;
		lag = new AtomicLongArray(asked);
		start = new AtomicLongArray(asked);
		createTables(url);

		Properties p = new Properties();
		p.setProperty("org.quartz.scheduler.instanceName", "bench");
		p.setProperty("org.quartz.scheduler.instanceId", "AUTO");
		p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
		p.setProperty("org.quartz.scheduler.batchTriggerAcquisitionMaxCount",
		    Integer.toString(batch));
		p.setProperty("org.quartz.threadPool.class",
		    "org.quartz.simpl.SimpleThreadPool");
		p.setProperty("org.quartz.threadPool.threadCount",
		    Integer.toString(threads));
		p.setProperty("org.quartz.jobStore.class",
		    "org.quartz.impl.jdbcjobstore.JobStoreTX");
		p.setProperty("org.quartz.jobStore.driverDelegateClass",
		    "org.quartz.impl.jdbcjobstore.StdJDBCDelegate");
		p.setProperty("org.quartz.jobStore.dataSource", "ds");
		p.setProperty("org.quartz.jobStore.tablePrefix", "QRTZ_");
		p.setProperty("org.quartz.jobStore.isClustered", "true");
		p.setProperty("org.quartz.jobStore.clusterCheckinInterval", "20000");
		p.setProperty("org.quartz.jobStore.misfireThreshold", "60000");
		p.setProperty("org.quartz.dataSource.ds.provider", "hikaricp");
		p.setProperty("org.quartz.dataSource.ds.driver",
		    "org.mariadb.jdbc.Driver");
		p.setProperty("org.quartz.dataSource.ds.URL", url);
		p.setProperty("org.quartz.dataSource.ds.user", "root");
		p.setProperty("org.quartz.dataSource.ds.password", "");
		p.setProperty("org.quartz.dataSource.ds.maxConnections",
		    Integer.toString(threads + 3));
		Scheduler s = new StdSchedulerFactory(p).getScheduler();

		long t0 = (System.currentTimeMillis() / 1000 + 1) * 1000 + 3000;
		long last = t0 + (secs - 1) * 1000L;
		Map<JobDetail, Set<? extends Trigger>> m = new HashMap<>();
		for (int k = 0; k < jobs; k++) {
			JobDetail j = JobBuilder.newJob(NoOp.class)
			    .withIdentity("j" + k).build();
			Trigger t = TriggerBuilder.newTrigger().withIdentity("t" + k)
			    .startAt(new Date(t0)).endAt(new Date(last + 1))
			    .withSchedule(CronScheduleBuilder.cronSchedule("* * * * * ?"))
			    .build();
			Set<Trigger> ts = new HashSet<>();
			ts.add(t);
			m.put(j, ts);
		}
		s.scheduleJobs(m, true); /* one transaction */
		if (System.currentTimeMillis() > t0 - 500) {
			System.err.println("QuartzBench: scheduling took past T0");
		}
		s.start();
		while (fired.get() < asked
		    && System.currentTimeMillis() < last + 15000) {
			Thread.sleep(100);
		}
		s.shutdown(false);
		int n = Math.min(fired.get(), asked), inWindow = 0;
		long[] l = new long[n];
		long end = t0;
		for (int k = 0; k < n; k++) {
			l[k] = Math.max(0, lag.get(k));
			end = Math.max(end, start.get(k));
			inWindow += start.get(k) < last + 1000 ? 1 : 0;
		}
		Arrays.sort(l);
		double rate = n / Math.max(0.001, (end - t0) / 1000.0);
		System.out.printf("quartz %d %d %d %d %d %.0f %d %d %d%n", threads,
		    batch, asked, n, inWindow, rate, n > 0 ? l[n / 2] : -1,
		    n > 0 ? l[(int) Math.min(n - 1, (long) n * 99 / 100)] : -1,
		    n > 0 ? l[n - 1] : -1);
		System.exit(0);
	}
}
