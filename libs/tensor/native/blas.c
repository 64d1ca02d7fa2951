/*
 * memorize's native matrix products: OpenBLAS sgemm over tensors that live in the tfjs wasm backend's heap.
 * The JS side passes the heap (a Float32Array over the wasm memory) and float offsets into it, so nothing is
 * copied: the product is written straight into the output tensor tfjs allocated. Built on first use by
 * libs/tensor/src/blas.ts (cc -O2 -shared ... -lopenblas); without a compiler or libopenblas-dev the project runs
 * on plain wasm.
 */
#include <node_api.h>
#include <cblas.h>
#include <stddef.h>
#include <stdint.h>

static int typed_f32(napi_env env, napi_value v, float** data, size_t* length) {
  napi_typedarray_type type;
  void* raw;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, &buffer, &offset) != napi_ok || type != napi_float32_array) return 0;
  *data = (float*)raw;
  return 1;
}

static int64_t int_arg(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

/*
 * sgemmBatched(heap, batch, transA, transB, M, N, K, aOffset, aStride, bOffset, bStride, cOffset, biasOffset): for
 * each batch i, C_i[M,N] = op(A_i) op(B_i) (+ bias[N] on every row when biasOffset >= 0) in row-major layout, A_i at
 * heap[aOffset + i*aStride], B_i likewise (stride 0 broadcasts), C_i at heap[cOffset + i*M*N]. Offsets in floats.
 * Throws on a bad heap or an operand outside it.
 */
static napi_value sgemm_batched(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "sgemmBatched takes 13 arguments");
    return NULL;
  }
  float* heap;
  size_t heap_length;
  if (!typed_f32(env, a[0], &heap, &heap_length)) {
    napi_throw_type_error(env, NULL, "heap must be a Float32Array");
    return NULL;
  }
  int64_t batch = int_arg(env, a[1]), ta = int_arg(env, a[2]), tb = int_arg(env, a[3]);
  int64_t m = int_arg(env, a[4]), n = int_arg(env, a[5]), k = int_arg(env, a[6]);
  int64_t a_off = int_arg(env, a[7]), a_stride = int_arg(env, a[8]), b_off = int_arg(env, a[9]), b_stride = int_arg(env, a[10]);
  int64_t c_off = int_arg(env, a[11]), bias_off = int_arg(env, a[12]);
  int64_t len = (int64_t)heap_length;
  if (batch < 0 || m < 0 || n < 0 || k < 0 || a_off < 0 || b_off < 0 || c_off < 0 || a_stride < 0 || b_stride < 0 ||
      a_off + (batch > 0 ? (batch - 1) * a_stride : 0) + m * k > len || b_off + (batch > 0 ? (batch - 1) * b_stride : 0) + k * n > len ||
      c_off + batch * m * n > len || bias_off + n > len) {
    napi_throw_range_error(env, NULL, "sgemmBatched: operand outside the heap");
    return NULL;
  }
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                heap + a_off + i * a_stride, ta ? (int)m : (int)k, heap + b_off + i * b_stride, tb ? (int)k : (int)n, 0.0f,
                heap + c_off + i * m * n, (int)n);
  }
  if (bias_off >= 0) {
    const float* bias = heap + bias_off;
    float* c = heap + c_off;
    for (int64_t r = 0; r < batch * m; r++, c += n)
      for (int64_t j = 0; j < n; j++) c[j] += bias[j];
  }
  return NULL;
}

static napi_value threads(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

static napi_value config(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sgemmBatched", NAPI_AUTO_LENGTH, sgemm_batched, NULL, &fn);
  napi_set_named_property(env, exports, "sgemmBatched", fn);
  napi_create_function(env, "threads", NAPI_AUTO_LENGTH, threads, NULL, &fn);
  napi_set_named_property(env, exports, "threads", fn);
  napi_create_function(env, "config", NAPI_AUTO_LENGTH, config, NULL, &fn);
  napi_set_named_property(env, exports, "config", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
