/*
 * server/timing/cron.c against Quartz 2.3.2 itself: thousands of generated
 * (expression, zone, start time) cases are answered by t/oracle/CronOracle
 * on Debian's libquartz2-java and by pj_cron_next, and must agree fire time
 * for fire time.  Needs java, javac and /usr/share/java/quartz2.jar (CI
 * installs them through scripts/deps.sh); without them the suite says so and
 * checks nothing else.
 *
 * PJ_ORACLE_CASES (default 4000) sets the number of generated cases.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/timing/cron.h"

#define QUARTZ_JAR "/usr/share/java/quartz2.jar"
#define FIRES_PER_CASE 6
/* start times from 1990 to 2099 (the oracle answers "none" from 2100 on,
 * where our years end) */
#define FROM_MIN_MS 631152000000LL  /* 1990-01-01 */
#define FROM_MAX_MS 4070908800000LL /* 2099-01-01 */

static const char *const zones[]
    = { "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney",
	      "Asia/Kolkata", "Asia/Kathmandu", "America/Sao_Paulo",
	      "Pacific/Chatham", "Europe/London", "Australia/Lord_Howe",
	      "America/St_Johns", "Pacific/Apia" };
#define NZONES (sizeof(zones) / sizeof(zones[0]))

/* hand-picked expressions: every special character */
static const char *const fixed[] = { "0 0 12 * * ?", "0 15 10 ? * *",
	"0 15 10 * * ? 2030", "0 * 14 * * ?", "0 0/5 14 * * ?",
	"0 0/5 14,18 * * ?", "0 0-5 14 * * ?", "0 10,44 14 ? 3 WED",
	"0 15 10 ? * MON-FRI", "0 15 10 15 * ?", "0 15 10 L * ?",
	"0 15 10 L-2 * ?", "0 15 10 ? * 6L", "0 15 10 ? * 6#3",
	"0 0 12 1/5 * ?", "0 11 11 11 11 ?", "0 0 0 LW * ?", "0 0 0 1W * ?",
	"0 0 0 15W * ?", "0 0 0 31W * ?", "0 0 0 L-3W * ?", "0 0 2 ? * 2#5",
	"0 0 0 29 2 ?", "0 0 0 L 2 ?", "*/7 * * * * ?", "0 30 2 * * ?",
	"0 30 1 * * ?", "0 0 * * * ?", "0 */30 * * * ?", "0 0 22-2 * * ?",
	"0 0 0 ? * SAT-MON", "0 0 0 ? 11-2 1", "0 0 0 30 * ?", "0 0 0 ? * L",
	"0 0 3 ? * 1L", "0 0 3 ? * 7#1", "59 59 23 31 12 ?",
	"0 0 0 1 1 ? 2035", "0 0 0 25-5 * ?", "0 0 2 ? * SUN#2",
	"0 0 1-3 * * ?", "0 0/20 0-3 * * ?", "30 45 1 ? * SUN",
	"0 0 0 ? 2 5#5", "0 0 0 ? * 3/2", "0 5/15 * ? * 2-6",
	"0 0 12 1,15,28-31 * ?", "0 0 0 L-30 * ?", "0 0 0 L-15W 2 ?" };
#define NFIXED (sizeof(fixed) / sizeof(fixed[0]))

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int
rint_(int lo, int hi)
{
	return lo + (int) (rnd() % (uint64_t) (hi - lo + 1));
}

/* a random numeric field over [lo, hi] */
static void
gen_field(char *buf, size_t len, int lo, int hi)
{
	int a = rint_(lo, hi), b = rint_(lo, hi);
	switch (rnd() % 7) {
	case 0:
	case 1:
		snprintf(buf, len, "*");
		break;
	case 2:
		snprintf(buf, len, "%d", a);
		break;
	case 3:
		snprintf(buf, len, "%d-%d", a, b);
		break;
	case 4:
		snprintf(buf, len, "%d,%d", a, b);
		break;
	case 5:
		snprintf(buf, len, "%d/%d", a, rint_(1, (hi - lo) / 2 + 1));
		break;
	default:
		snprintf(buf, len, "*/%d", rint_(1, (hi - lo) / 2 + 1));
		break;
	}
}

static void
gen_expr(char *out, size_t len)
{
	char s[20], m[20], h[20], dom[20], mon[20], dow[20];
	gen_field(s, sizeof(s), 0, 59);
	if (rnd() % 3 != 0) {
		snprintf(s, sizeof(s), "%d", rint_(0, 59));
	}
	gen_field(m, sizeof(m), 0, 59);
	gen_field(h, sizeof(h), 0, 23);
	gen_field(mon, sizeof(mon), 1, 12);
	if (rnd() % 2) {
		snprintf(dow, sizeof(dow), "?");
		switch (rnd() % 6) {
		case 0:
			snprintf(dom, sizeof(dom), "L");
			break;
		case 1:
			snprintf(dom, sizeof(dom), "L-%d", rint_(0, 10));
			break;
		case 2:
			snprintf(dom, sizeof(dom), "%dW", rint_(1, 31));
			break;
		case 3:
			snprintf(dom, sizeof(dom), "LW");
			break;
		default:
			gen_field(dom, sizeof(dom), 1, 31);
			break;
		}
	} else {
		snprintf(dom, sizeof(dom), "?");
		switch (rnd() % 5) {
		case 0:
			snprintf(dow, sizeof(dow), "%dL", rint_(1, 7));
			break;
		case 1:
			snprintf(dow, sizeof(dow), "%d#%d", rint_(1, 7),
			    rint_(1, 5));
			break;
		default:
			gen_field(dow, sizeof(dow), 1, 7);
			break;
		}
	}
	snprintf(out, len, "%s %s %s %s %s %s", s, m, h, dom, mon, dow);
}

/* one random edit, so that invalid expressions are compared too */
static void
mutate(char *e)
{
	static const char alphabet[] = "0123456789*/,-?LW# ";
	size_t            n          = strlen(e);
	size_t            at         = (size_t) (rnd() % n);
	char              c = alphabet[rnd() % (sizeof(alphabet) - 1)];
	if (rnd() % 2 && n + 1 < 128) {
		memmove(e + at + 1, e + at, n - at + 1);
	}
	e[at] = c;
}

static int
have_java(void)
{
	return access(QUARTZ_JAR, R_OK) == 0
	    && system("command -v java >/dev/null 2>&1 && "
	              "command -v javac >/dev/null 2>&1")
	    == 0;
}

START_TEST(test_against_quartz)
{
	/* make deps installs Java and Quartz: missing them is a broken
	 * machine, not a reason to pass; PJ_ORACLE_OPTIONAL=1 lets a
	 * developer without Java run the rest */
	if (!have_java()) {
		if (getenv("PJ_ORACLE_OPTIONAL") != NULL) {
			printf("cron_oracle: java/javac or %s missing: Quartz "
			       "comparison not run\n",
			    QUARTZ_JAR);
			return;
		}
		ck_abort_msg("java/javac or %s missing (make deps installs "
		             "them; PJ_ORACLE_OPTIONAL=1 skips)",
		    QUARTZ_JAR);
	}
	const char *top   = getenv("PJ_TOP") ? getenv("PJ_TOP") : ".";
	const char *ncase = getenv("PJ_ORACLE_CASES");
	int         n     = ncase ? atoi(ncase) : 4000;
	const char *seed  = getenv("PJ_ORACLE_SEED");
	if (seed != NULL) {
		rng ^= strtoull(seed, NULL, 10) * 0x2545f4914f6cdd1dULL;
	}
	char dir[] = "/tmp/pjoracle.XXXXXX";
	char cmd[4096], path[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	    "javac -d %s -cp %s %s/t/oracle/CronOracle.java", dir, QUARTZ_JAR,
	    top);
	ck_assert_int_eq(system(cmd), 0);

	/* cases: every fixed expression in every zone, then random ones */
	snprintf(path, sizeof(path), "%s/in.tsv", dir);
	FILE *in = fopen(path, "w");
	ck_assert_ptr_nonnull(in);
	int total         = (int) (NFIXED * NZONES) + n;
	char(*exprs)[128] = calloc((size_t) total, 128);
	int     *zi       = calloc((size_t) total, sizeof(int));
	int64_t *from     = calloc((size_t) total, sizeof(int64_t));
	ck_assert(exprs && zi && from);
	for (int i = 0; i < total; i++) {
		if (i < (int) (NFIXED * NZONES)) {
			snprintf(exprs[i], 128, "%s", fixed[i / NZONES]);
			zi[i] = i % (int) NZONES;
		} else {
			gen_expr(exprs[i], 128);
			if (rnd() % 8 == 0) {
				mutate(exprs[i]);
			}
			zi[i] = (int) (rnd() % NZONES);
		}
		from[i] = FROM_MIN_MS
		    + (int64_t) (rnd()
		        % (uint64_t) (FROM_MAX_MS - FROM_MIN_MS));
		/* whole seconds for a third, and always for W: Quartz's W
		 * rule reads the wall clock's milliseconds (see cron.c) */
		if (rnd() % 3 == 0 || strchr(exprs[i], 'W') != NULL) {
			from[i] -= from[i] % 1000;
		}
		fprintf(in, "%s\t%s\t%lld\t%d\n", exprs[i], zones[zi[i]],
		    (long long) from[i], FIRES_PER_CASE);
	}
	fclose(in);
	snprintf(cmd, sizeof(cmd),
	    "java -cp %s:%s CronOracle - < %s/in.tsv > %s/out.txt", QUARTZ_JAR,
	    dir, dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	FILE *out = fopen(path, "r");
	ck_assert_ptr_nonnull(out);

	int  compared = 0, stricter = 0, mismatches = 0, hangs = 0;
	char line[4096];
	for (int i = 0; i < total; i++) {
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), out));
		line[strcspn(line, "\n")] = '\0';
		pj_cron      c;
		const pj_tz *tz;
		char         err[256];
		int rv = pj_cron_parse(exprs[i], &c, err, sizeof(err));
		if (strcmp(line, "hang") == 0) {
			hangs++; /* Quartz loops forever here; we do not */
			if (getenv("PJ_ORACLE_VERBOSE") != NULL) {
				printf("quartz hangs on '%s' %s from %lld\n",
				    exprs[i], zones[zi[i]],
				    (long long) from[i]);
			}
			continue;
		}
		if (strcmp(line, "invalid") == 0) {
			if (rv == 0) {
				printf(
				    "MISMATCH %s: Quartz rejects, we accept\n",
				    exprs[i]);
				mismatches++;
			}
			continue;
		}
		if (rv != 0) {
			if (getenv("PJ_ORACLE_VERBOSE") != NULL) {
				printf("refused '%s': %s\n", exprs[i], err);
			}
			stricter++; /* we refuse what Quartz accepts */
			continue;
		}
		ck_assert_int_eq(pj_tz_get(zones[zi[i]], &tz, NULL, 0), 0);
		char    ours[4096] = "";
		size_t  o          = 0;
		int64_t t          = from[i];
		for (int k = 0; k < FIRES_PER_CASE; k++) {
			if (pj_cron_next(&c, tz, t, &t) != 0) {
				o += (size_t) snprintf(ours + o,
				    sizeof(ours) - o, "%snone", k ? " " : "");
				break;
			}
			o += (size_t) snprintf(ours + o, sizeof(ours) - o,
			    "%s%lld", k ? " " : "", (long long) t);
		}
		compared++;
		if (strcmp(ours, line) != 0) {
			if (mismatches < 20) {
				printf(
				    "MISMATCH '%s' %s from %lld\n  quartz %s\n"
				    "  ours   %s\n",
				    exprs[i], zones[zi[i]],
				    (long long) from[i], line, ours);
			}
			mismatches++;
		}
	}
	fclose(out);
	printf("cron_oracle: %d cases compared with Quartz, %d refused by "
	       "our stricter parser, %d where Quartz hangs, %d mismatches\n",
	    compared, stricter, hangs, mismatches);
	free(exprs);
	free(zi);
	free(from);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(mismatches, 0);
	ck_assert_int_gt(compared, total / 2);
	pj_tz_cache_fini();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("cron_oracle");
	TCase *tc = tcase_create("quartz");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_against_quartz);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
