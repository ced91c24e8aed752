// IF, LIF and parametric LIF neurons for the fused single-state kernels (single_state.cuh).
//
// The charges are written in the operation order of jelly.neurons.functional.integrate_fire
// as PyTorch evaluates it on a GPU (a tensor divided by a Python number is multiplied by
// the float32 reciprocal there), so that with -fmad=false the float32 forward matches the
// torch reference bit for bit. v_r is v_reset for hard reset and 0 for soft reset.
//
//   IF:                     h = v + x
//   LIF, decay_input:       h = v + (x - (v - v_r)) * (1/tau)
//   LIF, no decay_input:    h = v - (v - v_r) * (1/tau) + x
//   PLIF:                   the LIF charges with k = sigmoid(w) in place of 1/tau, read from
//                           tensor_param[0] (a float32 on the device: no host synchronisation)
//
// Backward partials: dh/dv = 1 - 1/tau (IF: 1), dh/dx = 1/tau with decay_input (else 1);
// PLIF dh/dk = x - (v - v_r) = (h - v) / k with decay_input, else -(v - v_r).
//
// Instantiated from Python by name expressions such as
//   jelly::neurons::single_state_forward<jelly::neurons::LIF<true>, jelly::neurons::HardReset, float, 4>
#include "single_state.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

struct IF {
    static constexpr bool kParamGrad = false;
    JELLY_HD static IF make(float, float, float, float, const float*) { return IF{}; }
    JELLY_HD float charge(float x, float v) const { return v + x; }
    JELLY_HD float dh_dv(float) const { return 1.0f; }
    JELLY_HD float dh_dx(float) const { return 1.0f; }
    JELLY_HD float dh_dparam(float, float) const { return 0.0f; }
};

// p0 = float32(1) / float32(tau), p1 = v_r, p2 = 1 - 1/tau.
template <bool DecayInput>
struct LIF {
    float inv_tau;
    float v_r;
    float decay;
    static constexpr bool kParamGrad = false;
    JELLY_HD static LIF make(float p0, float p1, float p2, float, const float*) { return LIF{p0, p1, p2}; }
    JELLY_HD float charge(float x, float v) const {
        return DecayInput ? v + (x - (v - v_r)) * inv_tau : (v - (v - v_r) * inv_tau) + x;
    }
    JELLY_HD float dh_dv(float) const { return decay; }
    JELLY_HD float dh_dx(float) const { return DecayInput ? inv_tau : 1.0f; }
    JELLY_HD float dh_dparam(float, float) const { return 0.0f; }
};

// p1 = v_r; tensor_param[0] = k = sigmoid(w).
template <bool DecayInput>
struct PLIF {
    float k;
    float v_r;
    static constexpr bool kParamGrad = true;
    JELLY_HD static PLIF make(float, float p1, float, float, const float* tensor_param) {
        return PLIF{tensor_param[0], p1};
    }
    JELLY_HD float charge(float x, float v) const {
        return DecayInput ? v + (x - (v - v_r)) * k : (v - (v - v_r) * k) + x;
    }
    JELLY_HD float dh_dv(float) const { return 1.0f - k; }
    JELLY_HD float dh_dx(float) const { return DecayInput ? k : 1.0f; }
    JELLY_HD float dh_dparam(float h, float v_prev) const {
        return DecayInput ? (h - v_prev) / k : -(v_prev - v_r);
    }
};

}  // namespace neurons
}  // namespace jelly
