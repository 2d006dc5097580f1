/* gemm.c: single-threaded SGEMM peer timings for bench/run.sh.
 *
 *   gemm openblas|libxsmm LAYOUT M N K [ITERS]
 *
 * C is always M×N row-major float32, alpha=1, beta=0:
 *   NT: A M×K, B N×K row-major, C = A·Bᵀ
 *   NN: A M×K, B K×N,           C = A·B
 *   TN: A K×M, B K×N,           C = Aᵀ·B
 * ITERS calls per timed batch (0 or absent: calibrated to ~0.2 s); best of
 * BATCHES batches. Prints "<lib>=<GFLOP/s> core=<OpenBLAS core>" or
 * "<lib>=<GFLOP/s> target=<LIBXSMM JIT arch>" on stdout (libxsmm=NA if it
 * cannot JIT the layout), details on stderr. The result is checked
 * against a naive product first; a mismatch exits 1.
 *
 * LIBXSMM 1.17 is column-major: the row-major C (M×N) is the column-major
 * Cᵀ (N×M) = op(B)ᵀ·op(A)ᵀ, so the JIT kernel gets m=N, n=M, k=K with B
 * as its first and A as its second operand:
 *   NN: no flags, lda=N, ldb=K;  NT: TRANS_A, lda=K, ldb=K;  TN: TRANS_B, lda=N, ldb=M.
 * The architecture it JITs for follows LIBXSMM_TARGET (run.sh sets hsw).
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <libxsmm.h>

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

enum { BATCHES = 5 };

static int M, N, K;
static char layout[3];
static float *A, *B, *C;
static libxsmm_smmfunction xk;

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void run_openblas(void) {
	if (layout[0] == 'N' && layout[1] == 'T')
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
	else if (layout[0] == 'N')
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
	else
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, 0.0f, C, N);
}

static void run_libxsmm(void) { xk(B, A, C); }

/* a(i,k) and b(k,j) of the logical product C = a·b. */
static float ea(int i, int k) { return layout[0] == 'T' ? A[k * M + i] : A[i * K + k]; }
static float eb(int k, int j) { return layout[1] == 'T' ? B[j * K + k] : B[k * N + j]; }

int main(int argc, char **argv) {
	if (argc < 6) {
		fprintf(stderr, "usage: %s openblas|libxsmm NT|NN|TN M N K [ITERS]\n", argv[0]);
		return 2;
	}
	const char *lib = argv[1];
	snprintf(layout, sizeof layout, "%s", argv[2]);
	M = atoi(argv[3]), N = atoi(argv[4]), K = atoi(argv[5]);
	long iters = argc > 6 ? atol(argv[6]) : 0;
	if ((strcmp(layout, "NT") && strcmp(layout, "NN") && strcmp(layout, "TN")) || M <= 0 || N <= 0 || K <= 0) {
		fprintf(stderr, "gemm: bad layout or shape\n");
		return 2;
	}
	A = aligned_alloc(64, ((size_t)M * K * 4 + 63) / 64 * 64);
	B = aligned_alloc(64, ((size_t)K * N * 4 + 63) / 64 * 64);
	C = aligned_alloc(64, ((size_t)M * N * 4 + 63) / 64 * 64);
	for (long i = 0; i < (long)M * K; i++) A[i] = (float)((i * 7 + 3) % 19) / 19.0f - 0.5f;
	for (long i = 0; i < (long)K * N; i++) B[i] = (float)((i * 5 + 1) % 23) / 23.0f - 0.5f;

	void (*run)(void);
	char info[64];
	if (!strcmp(lib, "openblas")) {
		openblas_set_num_threads(1);
		snprintf(info, sizeof info, "core=%s", openblas_get_corename());
		run = run_openblas;
	} else if (!strcmp(lib, "libxsmm")) {
		libxsmm_init();
		const int flags = !strcmp(layout, "NT") ? LIBXSMM_GEMM_FLAG_TRANS_A
		                  : !strcmp(layout, "TN") ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
		const libxsmm_blasint lda = layout[1] == 'T' ? K : N, ldb = layout[0] == 'T' ? M : K, ldc = N;
		const float alpha = 1, beta = 0;
		const int prefetch = LIBXSMM_PREFETCH_NONE;
		xk = libxsmm_smmdispatch(N, M, K, &lda, &ldb, &ldc, &alpha, &beta, &flags, &prefetch);
		snprintf(info, sizeof info, "target=%s", libxsmm_get_target_arch());
		if (!xk) { /* LIBXSMM 1.17 JITs no TRANS_A kernel (NT) */
			fprintf(stderr, "gemm: libxsmm %s cannot JIT %s %dx%dx%d\n", LIBXSMM_CONFIG_VERSION, layout, M, N, K);
			printf("libxsmm=NA %s\n", info);
			return 0;
		}
		run = run_libxsmm;
	} else {
		fprintf(stderr, "gemm: unknown library %s\n", lib);
		return 2;
	}

	memset(C, 0xff, (size_t)M * N * 4); /* NaN: a kernel that skips C fails the check */
	run();
	double maxerr = 0;
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double s = 0;
			for (int k = 0; k < K; k++) s += (double)ea(i, k) * eb(k, j);
			double e = fabs(C[i * N + j] - s) / (1 + fabs(s));
			if (!(e <= maxerr)) maxerr = e; /* NaN propagates */
		}
	if (!(maxerr < 1e-4)) {
		fprintf(stderr, "gemm: %s %s %dx%dx%d: wrong result (max rel err %g)\n", lib, layout, M, N, K, maxerr);
		return 1;
	}

	for (int i = 0; i < 50; i++) run(); /* warm-up */
	if (iters <= 0) {
		iters = 1;
		for (;;) {
			double t = now();
			for (long i = 0; i < iters; i++) run();
			t = now() - t;
			if (t >= 0.05) { iters = (long)(iters * 0.2 / t) + 1; break; }
			iters *= 4;
		}
	}
	double best = 1e30;
	for (int b = 0; b < BATCHES; b++) {
		double t = now();
		for (long i = 0; i < iters; i++) run();
		t = (now() - t) / iters;
		if (t < best) best = t;
	}
	fprintf(stderr, "gemm: %s %s %s %dx%dx%d: %ld iters/batch, best %.3f us/call\n", lib, info, layout, M, N, K, iters, best * 1e6);
	printf("%s=%.2f %s\n", lib, 2.0 * M * N * K / best * 1e-9, info);
	return 0;
}
