// Quartz 2.3.2's CronExpression.getTimeAfter over bench/timing_mix.tsv,
// the peer of bench/timing_bench.c (same mix, same walk: N consecutive
// fire times per row, after a warm-up pass for the JIT).
//   java -cp quartz2.jar:DIR TimingBench MIX_FILE [N]
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.TimeZone;
import org.quartz.CronExpression;

public class TimingBench {
	public static void main(String[] args) throws Exception {
		long n = args.length > 1 ? Long.parseLong(args[1]) : 200000;
		List<CronExpression> rows = new ArrayList<>();
		List<Boolean> plain = new ArrayList<>();
		for (String line : Files.readAllLines(Paths.get(args[0]))) {
			if (line.startsWith("#") || !line.contains("\t")) continue;
			String[] f = line.split("\t");
			CronExpression ce = new CronExpression(f[0]);
			ce.setTimeZone(TimeZone.getTimeZone(f[1]));
			rows.add(ce);
			plain.add(f[1].equals("UTC") && !f[0].matches(".*[LW#].*"));
		}
		final long start = 1700000000000L;
		double bestMix = 0, bestPlain = 0;
		long sink = 0;
		// pass 0 warms up the JIT; the best measured pass is reported
		for (int pass = 0; pass < 4; pass++) {
			double mixCalls = 0, mixS = 0, plainCalls = 0, plainS = 0;
			for (int r = 0; r < rows.size(); r++) {
				CronExpression ce = rows.get(r);
				Date d = new Date(start);
				long k = pass == 0 ? n / 10 : n;
				long t0 = System.nanoTime();
				for (long i = 0; i < k; i++) {
					if (i % 500 == 0) { // as WALK in timing_bench.c
						sink += d.getTime();
						d = new Date(start);
					}
					d = ce.getTimeAfter(d);
					if (d == null) d = new Date(start);
				}
				double dt = (System.nanoTime() - t0) / 1e9;
				sink += d.getTime();
				mixCalls += k;
				mixS += dt;
				if (plain.get(r)) {
					plainCalls += k;
					plainS += dt;
				}
			}
			if (pass > 0) {
				bestMix = Math.max(bestMix, mixCalls / mixS);
				bestPlain = Math.max(bestPlain, plainCalls / plainS);
			}
		}
		System.out.printf("Quartz mix %.0f%n", bestMix);
		System.out.printf("Quartz plain %.0f%n", bestPlain);
		System.out.println("Quartz checksum " + sink);
	}
}
