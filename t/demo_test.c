/*
 * t/demo_test.c - `make demo` inside `make check`: runs scripts/demo.sh
 * on this build (a server, two workers, pjctl) in a folder of its own and
 * checks what a user would look at: every job succeeded with the result
 * its processor makes, the CRON job ran, the dead letter shows, the
 * script exits 0 and leaves no process behind.
 *
 * Design notes (threads): none; the script runs as a child process.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Processes whose command line mentions dir (the demo's children). */
static int
processes_in(const char *dir)
{
	DIR           *d = opendir("/proc");
	struct dirent *e;
	int            n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		char   path[300], buf[4096];
		FILE  *f;
		size_t len;

		if (e->d_name[0] < '0' || e->d_name[0] > '9') {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((f = fopen(path, "r")) == NULL) {
			continue;
		}
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++) {
			buf[i] = buf[i] == '\0' ? ' ' : buf[i];
		}
		buf[len] = '\0';
		n += strstr(buf, dir) != NULL;
	}
	closedir(d);
	return n;
}

START_TEST(demo_runs_and_cleans_up)
{
	const char *bin = getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin";
	const char *top = getenv("PJ_TOP") ? getenv("PJ_TOP") : ".";
	char        dir[] = "/tmp/pjdemotest.XXXXXX", cmd[2048], out[300];
	char       *text;
	long        len;
	FILE       *f;
	int         rc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && PJ_DEMO_DIR='%s' sh scripts/demo.sh '%s/..' >'%s' "
	    "2>&1",
	    top, dir, bin, out);
	rc = system(cmd);
	ck_assert_ptr_nonnull(f = fopen(out, "r"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t) len + 1);
	ck_assert_int_eq(fread(text, 1, (size_t) len, f), (size_t) len);
	fclose(f);
	ck_assert_msg(rc == 0, "demo exited %d:\n%s", rc, text);
	/* the shell job, its parameters and its online log */
	ck_assert_msg(strstr(text, "hello world from") != NULL, "%s", text);
	/* the broadcast ran on both workers */
	ck_assert_msg(strstr(text, "broadcast: 2 nodes, 0 failed") != NULL,
	    "%s", text);
	/* the map-reduce counted README.md */
	ck_assert_msg(strstr(text, "words=") != NULL
	        && strstr(text, "failed=0 top:") != NULL,
	    "%s", text);
	/* ... and pjctl instance wait showed its tasks: the last progress
	 * line has every task done, more than one */
	{
		const char *w = strstr(text, "wordcount) over both workers");
		long long   d = 0, all = 0;
		ck_assert_ptr_nonnull(w);
		w = strstr(w, "succeed  tasks ");
		ck_assert_msg(w != NULL
		        && sscanf(w, "succeed  tasks %lld/%lld", &d, &all) == 2
		        && all > 1 && d == all,
		    "%s", text);
	}
	/* the CRON job ran at least twice in its 7 s */
	char *p = strstr(text, "a CRON job every 2 s");
	int   runs = 0;
	ck_assert_ptr_nonnull(p);
	while ((p = strstr(p + 1, "[INPUT]: ")) != NULL) {
		runs++;
	}
	ck_assert_msg(runs >= 2, "%s", text);
	ck_assert_msg(strstr(text, "recipient=pj://pjserver@") != NULL
	        && strstr(text, "/user/nobody") != NULL,
	    "%s", text);
	ck_assert_msg(strstr(text, "done.") != NULL, "%s", text);
	/* nothing it started is left */
	ck_assert_int_eq(processes_in(dir), 0);
	free(text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, out);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int
main(void)
{
	Suite   *s  = suite_create("demo");
	TCase   *tc = tcase_create("demo");
	SRunner *sr;
	int      failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, demo_runs_and_cleans_up);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
