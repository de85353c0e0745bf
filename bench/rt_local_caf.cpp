// rt_local_caf.cpp - the CAF 0.17.6 side of bench/rt_local.c: the same
// modes, the same counts, the same single-line output.
//
//   rt_local_caf tell1 N   1 scoped_actor sends N ints -> 1 event-based actor
//   rt_local_caf tell4 N   4 threads, each its own scoped_actor, N/4 each
//   rt_local_caf ask N     N sequential request/receive round trips; us/ask
//   rt_local_caf actors N  RSS bytes per idle event-based actor
//   rt_local_caf queued N  RSS bytes per message queued in a blocked actor
//   rt_local_caf idle      VmRSS (KiB) before and after actor_system start
//
// Design notes: CAF's own configuration defaults (scheduler threads =
// cores = 2, like our two dispatcher threads).  The receiver reports the
// last message to a semaphore, as the C side does.  CAF_MAIN leaves the
// positional arguments in cfg.remainder.  "idle" reads VmRSS once before
// main (a global initializer) and once with the system running.
#include <caf/all.hpp>
#include <semaphore.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace caf;

namespace
{

std::atomic<long>       received { 0 };
long                    expected = 0;
sem_t                   done;
std::mutex              mtx;
std::condition_variable cv;
int                     gate = 0;

double
now_s()
{
	return std::chrono::duration<double>(
	    std::chrono::steady_clock::now().time_since_epoch())
	    .count();
}

long
rss_kib()
{
	FILE *f = fopen("/proc/self/status", "r");
	char  line[256];
	long  kib = -1;
	if (f == nullptr)
		return -1;
	while (fgets(line, sizeof(line), f) != nullptr) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, nullptr, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

behavior
counter(event_based_actor *)
{
	return { [](int64_t) {
		if (received.fetch_add(1) + 1 == expected)
			sem_post(&done);
	} };
}

behavior
echo(event_based_actor *)
{
	return { [](int64_t x) { return x; } };
}

behavior
gated(event_based_actor *)
{
	return { [](int64_t) {
		{
			std::unique_lock<std::mutex> lk(mtx);
			if (gate == 0) {
				gate = 1;
				cv.notify_all();
				cv.wait(lk, [] { return gate == 2; });
			}
		}
		if (received.fetch_add(1) + 1 == expected)
			sem_post(&done);
	} };
}

void
bench_tell(actor_system &sys, long n, int nsenders)
{
	auto r                      = sys.spawn(counter);
	expected                    = (n / nsenders) * nsenders;
	double                   t0 = now_s();
	std::vector<std::thread> th;
	for (int i = 0; i < nsenders; i++) {
		th.emplace_back([&sys, r, n, nsenders] {
			scoped_actor self { sys };
			for (long j = 0; j < n / nsenders; j++)
				self->send(r, int64_t { j });
		});
	}
	for (auto &t : th)
		t.join();
	sem_wait(&done);
	double t1 = now_s();
	printf("%.0f\n", (double) expected / (t1 - t0));
	anon_send_exit(r, exit_reason::user_shutdown);
}

void
bench_ask(actor_system &sys, long n)
{
	auto         r = sys.spawn(echo);
	scoped_actor self { sys };
	double       t0 = 0;
	for (long i = 0; i < n + n / 10; i++) {
		if (i == n / 10)
			t0 = now_s();
		bool ok = false;
		self->request(r, infinite, int64_t { i })
		    .receive([&](int64_t x) { ok = x == i; },
		        [&](error &) { ok = false; });
		if (!ok) {
			fprintf(stderr, "rt_local_caf: ask %ld failed\n", i);
			exit(1);
		}
	}
	double t1 = now_s();
	printf("%.2f\n", (t1 - t0) * 1e6 / (double) n);
	anon_send_exit(r, exit_reason::user_shutdown);
}

void
bench_actors(actor_system &sys, long n)
{
	std::vector<actor> v;
	v.reserve((size_t) n);
	v.push_back(sys.spawn(counter));
	long before = rss_kib();
	for (long i = 0; i < n; i++)
		v.push_back(sys.spawn(counter));
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	long after = rss_kib();
	printf("%.0f\n", (double) (after - before) * 1024.0 / (double) n);
	fflush(stdout);
	_exit(0); // tearing down 100k actors is not what is measured
}

void
bench_queued(actor_system &sys, long n)
{
	auto r   = sys.spawn(gated);
	expected = n + 1;
	anon_send(r, int64_t { 0 });
	{
		std::unique_lock<std::mutex> lk(mtx);
		cv.wait(lk, [] { return gate == 1; });
	}
	scoped_actor self { sys };
	long         before = rss_kib();
	for (long i = 0; i < n; i++)
		self->send(r, int64_t { i + 1 });
	long after = rss_kib();
	{
		std::lock_guard<std::mutex> lk(mtx);
		gate = 2;
		cv.notify_all();
	}
	sem_wait(&done);
	printf("%.0f\n", (double) (after - before) * 1024.0 / (double) n);
	anon_send_exit(r, exit_reason::user_shutdown);
}

long rss_at_load = rss_kib(); // before main, before the actor system

} // namespace

void
caf_main(actor_system &sys, const actor_system_config &cfg)
{
	sem_init(&done, 0, 0);
	if (cfg.remainder.empty()) {
		fprintf(stderr,
		    "usage: rt_local_caf tell1|tell4|ask|actors|queued N | "
		    "idle\n");
		exit(2);
	}
	std::string mode = cfg.remainder[0];
	long n = cfg.remainder.size() > 1 ? atol(cfg.remainder[1].c_str()) : 0;
	if (mode == "idle") {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		printf("%ld %ld\n", rss_at_load, rss_kib());
		return;
	}
	if (n <= 0) {
		fprintf(stderr, "rt_local_caf: N must be > 0\n");
		exit(2);
	}
	if (mode == "tell1")
		bench_tell(sys, n, 1);
	else if (mode == "tell4")
		bench_tell(sys, n, 4);
	else if (mode == "ask")
		bench_ask(sys, n);
	else if (mode == "actors")
		bench_actors(sys, n);
	else if (mode == "queued")
		bench_queued(sys, n);
	else {
		fprintf(
		    stderr, "rt_local_caf: unknown mode %s\n", mode.c_str());
		exit(2);
	}
}

CAF_MAIN()
