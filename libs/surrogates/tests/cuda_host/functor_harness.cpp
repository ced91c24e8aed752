// CPU harness for the device functors of surrogates.cuh (test code, compiled with g++).
// jelly_eval(name, ...) evaluates the functor of that name over an array, built with
// from_params(p0, p1) exactly as a kernel builds it.
#include <cmath>
#include <cstring>

#define JELLY_HD inline
#include "surrogates.cuh"

namespace s = jelly::surrogates;

template <class F>
static void run(const float* x, float* y, int n, float p0, float p1) {
    const F f = F::from_params(p0, p1);
    for (int i = 0; i < n; ++i) y[i] = f(x[i]);
}

#define JELLY_CASE(NAME) \
    if (std::strcmp(name, #NAME) == 0) { run<s::NAME>(x, y, n, p0, p1); return 0; }

extern "C" int jelly_eval(const char* name, const float* x, float* y, int n, float p0, float p1) {
    JELLY_CASE(Sigmoid)
    JELLY_CASE(ATan)
    JELLY_CASE(SoftSign)
    JELLY_CASE(Erf)
    JELLY_CASE(PiecewiseExp)
    JELLY_CASE(QPseudoSpike)
    JELLY_CASE(SuperSpike)
    JELLY_CASE(NonzeroSignLogAbs)
    JELLY_CASE(SquarewaveFourierSeries)
    JELLY_CASE(PiecewiseQuadratic)
    JELLY_CASE(PiecewiseLeakyReLU)
    JELLY_CASE(Rect)
    JELLY_CASE(S2NN)
    JELLY_CASE(LogTailedReLU)
    JELLY_CASE(FakeNumericalGradient)
    JELLY_CASE(LeakyKReLU)
    JELLY_CASE(DeterministicPass)
    return 1;
}
