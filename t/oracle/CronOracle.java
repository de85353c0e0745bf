// Quartz 2.3.2 as the oracle for server/cron.c.
//
//   java -cp quartz2.jar:DIR CronOracle EXPR ZONE FROM_MS COUNT
//       prints COUNT fire times after FROM_MS (epoch ms), one per line
//   java -cp quartz2.jar:DIR CronOracle -
//       batch: reads "EXPR<TAB>ZONE<TAB>FROM_MS<TAB>COUNT" lines from stdin
//       and answers each with one line: the fire times separated by
//       spaces (ending early with "none" when Quartz returns null), or
//       "invalid" when Quartz rejects the expression, or "hang" when
//       Quartz did not answer within 2 seconds (it loops forever on some
//       expressions that never match, e.g. a 5th weekday in February).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.Date;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.quartz.CronExpression;

public class CronOracle {
	static String fires(String expr, String zone, long from, int count) {
		CronExpression ce;
		try {
			ce = new CronExpression(expr);
		} catch (Exception e) {
			return "invalid";
		}
		ce.setTimeZone(TimeZone.getTimeZone(zone));
		StringBuilder sb = new StringBuilder();
		Date d = new Date(from);
		for (int i = 0; i < count; i++) {
			try {
				d = ce.getTimeAfter(d);
			} catch (Exception e) {
				d = null;
			}
			if (i > 0) sb.append(' ');
			if (d == null || d.getTime() >= 4102444800000L) {
				sb.append("none");
				break;
			}
			sb.append(d.getTime());
		}
		return sb.toString();
	}

	static ExecutorService daemonPool() {
		return Executors.newSingleThreadExecutor(r -> {
			Thread t = new Thread(r);
			t.setDaemon(true);
			return t;
		});
	}

	public static void main(String[] args) throws Exception {
		if (args.length == 1 && args[0].equals("-")) {
			BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
			ExecutorService ex = daemonPool();
			String line;
			while ((line = in.readLine()) != null) {
				final String[] f = line.split("\t");
				Future<String> fu = ex.submit(() -> fires(f[0], f[1],
					Long.parseLong(f[2]), Integer.parseInt(f[3])));
				String r;
				try {
					r = fu.get(2, TimeUnit.SECONDS);
				} catch (TimeoutException e) {
					r = "hang";
					ex = daemonPool(); // the old thread spins on
				}
				System.out.println(r);
			}
			System.out.flush();
			System.exit(0);
		}
		String r = fires(args[0], args[1], Long.parseLong(args[2]), Integer.parseInt(args[3]));
		for (String s : r.split(" ")) System.out.println(s);
	}
}
