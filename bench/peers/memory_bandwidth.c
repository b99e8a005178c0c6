/* Memory bandwidth on 1 and 2 threads (issue 14, native-notes/allocator.md section 6): b[i] = c * a[i] over two 256 MB
 * arrays, best of 7, reported as read + write bytes per second (on this shared VM the 2-thread figure varies from run
 * to run: 37.8-70.8 GB/s in 12 runs on 2026-12-07, 1 thread 32-37). Build and run:
 *   gcc -O3 -march=native -fopenmp bench/peers/memory_bandwidth.c -o /tmp/memory_bandwidth && /tmp/memory_bandwidth */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>

int main(void)
{
    size_t n = (size_t)64 << 20;                                   /* 64 M floats = 256 MB per array */
    float *a = aligned_alloc(64, n * sizeof(float)), *b = aligned_alloc(64, n * sizeof(float));
    if (a == NULL || b == NULL) { fprintf(stderr, "out of memory\n"); return 1; }
    memset(a, 1, n * sizeof(float));
    memset(b, 1, n * sizeof(float));                               /* touch every page before timing */
    for (int threads = 1; threads <= 2; threads++)
    {
        omp_set_num_threads(threads);
        double best = 1e9;
        for (int rep = 0; rep < 7; rep++)
        {
            struct timespec s, e;
            clock_gettime(CLOCK_MONOTONIC, &s);
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++) b[i] = a[i] * 1.0001f;
            clock_gettime(CLOCK_MONOTONIC, &e);
            double seconds = (e.tv_sec - s.tv_sec) + (e.tv_nsec - s.tv_nsec) * 1e-9;
            if (seconds < best) best = seconds;
        }
        printf("threads %d: %.1f GB/s (read + write)\n", threads, 2.0 * n * sizeof(float) / best / 1e9);
    }
    free(a);
    free(b);
    return 0;
}
