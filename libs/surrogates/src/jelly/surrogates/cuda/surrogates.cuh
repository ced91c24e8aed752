// Surrogate gradients of jelly.surrogates as CUDA device functors.
//
// One struct per surrogate whose derivative has a closed form. Each holds the surrogate's
// hyper-parameters as floats and evaluates g'(x) (the factor the spike's backward pass
// multiplies the incoming gradient with) in float32:
//
//     jelly::surrogates::ATan sg{2.0f};
//     float slope = sg(h - v_threshold);
//
// ``from_params(p0, p1)`` builds a functor from two packed floats (unused ones are 0), so
// that a kernel templated over the surrogate takes the same scalar arguments for all of
// them. The Python table ``jelly.surrogates.cuda_sources`` maps a surrogate instance to
// its functor name and these parameters. The formulas are the ``derivative`` methods of
// the Python classes (see their docstrings); branch choices at kinks match them.
//
// The functors are ``__host__ __device__`` so that the same code can be checked against
// the torch implementation on a CPU (define JELLY_HD before including this file).
#pragma once

#ifndef JELLY_HD
#define JELLY_HD __host__ __device__ __forceinline__
#endif

namespace jelly {
namespace surrogates {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kHalfPi = 1.57079632679489661923f;
constexpr float kInvSqrtPi = 0.56418958354775628695f;  // 1 / sqrt(pi)

// g'(x) = alpha * sigmoid(alpha x) * (1 - sigmoid(alpha x))
struct Sigmoid {
    float alpha;
    JELLY_HD static Sigmoid from_params(float p0, float) { return Sigmoid{p0}; }
    JELLY_HD float operator()(float x) const {
        const float s = 1.0f / (1.0f + expf(-alpha * x));
        return alpha * s * (1.0f - s);
    }
};

// g'(x) = alpha / 2 / (1 + (pi/2 alpha x)^2)
struct ATan {
    float alpha;
    JELLY_HD static ATan from_params(float p0, float) { return ATan{p0}; }
    JELLY_HD float operator()(float x) const {
        const float t = (kHalfPi * alpha) * x;
        return alpha / 2.0f / (1.0f + t * t);
    }
};

// g'(x) = alpha / (2 (1 + |alpha x|)^2)
struct SoftSign {
    float alpha;
    JELLY_HD static SoftSign from_params(float p0, float) { return SoftSign{p0}; }
    JELLY_HD float operator()(float x) const {
        const float d = 1.0f + fabsf(alpha * x);
        return alpha / (2.0f * (d * d));
    }
};

// g'(x) = alpha / sqrt(pi) * exp(-(alpha x)^2)
struct Erf {
    float alpha;
    JELLY_HD static Erf from_params(float p0, float) { return Erf{p0}; }
    JELLY_HD float operator()(float x) const {
        const float t = alpha * x;
        return (alpha * kInvSqrtPi) * expf(-(t * t));
    }
};

// g'(x) = alpha / 2 * exp(-alpha |x|)
struct PiecewiseExp {
    float alpha;
    JELLY_HD static PiecewiseExp from_params(float p0, float) { return PiecewiseExp{p0}; }
    JELLY_HD float operator()(float x) const { return alpha / 2.0f * expf(-alpha * fabsf(x)); }
};

// g'(x) = (1 + 2 |x| / (alpha - 1))^(-alpha)     (alpha > 1)
struct QPseudoSpike {
    float alpha;
    JELLY_HD static QPseudoSpike from_params(float p0, float) { return QPseudoSpike{p0}; }
    JELLY_HD float operator()(float x) const {
        return powf(1.0f + (2.0f / (alpha - 1.0f)) * fabsf(x), -alpha);
    }
};

// g'(x) = alpha / (1 + |x|)^2
struct SuperSpike {
    float alpha;
    JELLY_HD static SuperSpike from_params(float p0, float) { return SuperSpike{p0}; }
    JELLY_HD float operator()(float x) const {
        const float d = 1.0f + fabsf(x);
        return alpha / (d * d);
    }
};

// g'(x) = alpha / (1 + alpha |x|)
struct NonzeroSignLogAbs {
    float alpha;
    JELLY_HD static NonzeroSignLogAbs from_params(float p0, float) { return NonzeroSignLogAbs{p0}; }
    JELLY_HD float operator()(float x) const { return alpha / (1.0f + alpha * fabsf(x)); }
};

// g'(x) = 4 / T * sum_{i=1}^{n-1} cos((2i - 1) omega x),  omega = 2 pi / T
struct SquarewaveFourierSeries {
    int n;
    float T_period;
    JELLY_HD static SquarewaveFourierSeries from_params(float p0, float p1) {
        return SquarewaveFourierSeries{static_cast<int>(p0), p1};
    }
    JELLY_HD float operator()(float x) const {
        const float omega = 2.0f * kPi / T_period;
        float total = 0.0f;
        for (int i = 1; i < n; ++i) {
            total += cosf(((2.0f * i - 1.0f) * omega) * x);
        }
        return (4.0f / T_period) * total;
    }
};

// g'(x) = max(0, alpha - alpha^2 |x|)
struct PiecewiseQuadratic {
    float alpha;
    JELLY_HD static PiecewiseQuadratic from_params(float p0, float) { return PiecewiseQuadratic{p0}; }
    JELLY_HD float operator()(float x) const {
        const float g = alpha - alpha * alpha * fabsf(x);
        return g > 0.0f ? g : 0.0f;
    }
};

// g'(x) = 1 / (2w) for |x| < w, else c
struct PiecewiseLeakyReLU {
    float w;
    float c;
    JELLY_HD static PiecewiseLeakyReLU from_params(float p0, float p1) { return PiecewiseLeakyReLU{p0, p1}; }
    JELLY_HD float operator()(float x) const { return fabsf(x) < w ? 1.0f / (2.0f * w) : c; }
};

// g'(x) = alpha for |x| < 1 / (2 alpha), else 0
struct Rect {
    float alpha;
    JELLY_HD static Rect from_params(float p0, float) { return Rect{p0}; }
    JELLY_HD float operator()(float x) const { return fabsf(x) < 0.5f / alpha ? alpha : 0.0f; }
};

// g'(x) = alpha sigmoid(alpha x) (1 - sigmoid(alpha x)) for x < 0, beta / (x + 1) for x >= 0
struct S2NN {
    float alpha;
    float beta;
    JELLY_HD static S2NN from_params(float p0, float p1) { return S2NN{p0, p1}; }
    JELLY_HD float operator()(float x) const {
        if (x < 0.0f) {
            const float s = 1.0f / (1.0f + expf(-alpha * x));
            return alpha * s * (1.0f - s);
        }
        return beta / (x + 1.0f);
    }
};

// g'(x) = alpha for x <= 0 (and NaN), 1 for 0 < x <= 1, 1 / x for x > 1
struct LogTailedReLU {
    float alpha;
    JELLY_HD static LogTailedReLU from_params(float p0, float) { return LogTailedReLU{p0}; }
    JELLY_HD float operator()(float x) const {
        if (!(x > 0.0f)) return alpha;
        return x > 1.0f ? 1.0f / x : 1.0f;
    }
};

// g'(x) = min(1 / |x|, alpha)
struct FakeNumericalGradient {
    float alpha;
    JELLY_HD static FakeNumericalGradient from_params(float p0, float) { return FakeNumericalGradient{p0}; }
    JELLY_HD float operator()(float x) const { return fminf(1.0f / fabsf(x), alpha); }
};

// g'(x) = k for x >= 0, leak for x < 0
struct LeakyKReLU {
    float leak;
    float k;
    JELLY_HD static LeakyKReLU from_params(float p0, float p1) { return LeakyKReLU{p0, p1}; }
    JELLY_HD float operator()(float x) const { return x >= 0.0f ? k : leak; }
};

// Straight-through estimator: g'(x) = 1
struct DeterministicPass {
    JELLY_HD static DeterministicPass from_params(float, float) { return DeterministicPass{}; }
    JELLY_HD float operator()(float) const { return 1.0f; }
};

}  // namespace surrogates
}  // namespace jelly
