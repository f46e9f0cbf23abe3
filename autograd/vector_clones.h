/* SPDX-License-Identifier: MIT */
/* vector_clones.h — AG_VECTOR_CLONES, for the library's hot loops (not
 * installed).
 *
 * The library is built for the x86-64 baseline (SSE2: four floats per
 * instruction), so that one binary runs on every x86-64 machine. A loop
 * marked AG_VECTOR_CLONES is compiled twice, for that baseline and for
 * AVX2 (eight floats), and the dynamic loader picks the one this CPU runs
 * (GCC's target_clones, an ifunc), as OpenBLAS picks its kernels. "avx2"
 * does not include FMA, so no multiply and add are fused: each element is
 * computed by the same IEEE operations in the same order, and both clones
 * give the same bits (GCC vectorizes only what keeps the order).
 *
 * Only on GCC for x86-64 Linux (glibc's ifunc); elsewhere, clang and
 * WebAssembly included, the marker is empty and the baseline loop is all
 * there is. Not under ThreadSanitizer either: the loader runs an ifunc's
 * resolver before TSan's runtime is up, and the instrumented resolver
 * crashes the program before main. -DAG_NO_VECTOR_CLONES turns it off. */
#ifndef AG_VECTOR_CLONES_H
#define AG_VECTOR_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&  \
    !defined(__SANITIZE_THREAD__) && !defined(AG_NO_VECTOR_CLONES)
#define AG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AG_VECTOR_CLONES
#endif

#endif
