// Stepwise plugin ABI — base types shared by every other header.
//
// Conventions used in every header of this SDK:
//
//   * Every struct that crosses the boundary starts with `size_t struct_size`, set by the
//     side that fills the struct to `sizeof` the struct it was compiled against. A reader
//     accepts any size >= the smallest size it knows (STEPWISE_*_SIZE_1_0 below) and reads
//     a field only when `struct_size` covers it (STEPWISE_HAS_FIELD). Fields are only ever
//     appended; nothing is reordered, renamed or retyped within a major version.
//   * Arrays of structs are passed as arrays of *pointers* (`const T *const *items`), so
//     each element keeps its own struct_size and a newer, larger element never changes the
//     stride a reader assumes.
//   * A NULL function pointer means "not supported"; the caller checks before every call.
//   * Thread tags, in the comment of every function pointer:
//       [any-thread]      may be called from any thread, concurrently.
//       [instance-serial] never called concurrently for one instance; any thread.
//       [load-thread]     called on the thread that loads plugins, while loading.
//   * Ownership: "lent" means valid for the duration of the call only; the callee copies
//     what it wants to keep. "static" means valid until the process exits.
//
// Rationale: the layout and evolution rules follow PJRT's C API (size first, append
// only) and the documentation style follows CLAP (semantics, ownership, thread per call).
#ifndef STEPWISE_BASE_H
#define STEPWISE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STEPWISE_ABI_MAJOR 1u
#define STEPWISE_ABI_MINOR 1u

#if defined(_WIN32)
#define STEPWISE_EXPORT __declspec(dllexport)
#else
#define STEPWISE_EXPORT __attribute__((visibility("default")))
#endif

// True when a struct filled by the other side is large enough to hold `field`.
#define STEPWISE_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

// A (major, minor) pair. A plugin built against major M, minor m loads into a host of
// major M and minor >= m; any other pair is refused with both versions in the message.
typedef struct stepwise_version {
    uint32_t major;
    uint32_t minor;
} stepwise_version;

#define STEPWISE_ABI_VERSION_INIT {STEPWISE_ABI_MAJOR, STEPWISE_ABI_MINOR}

// Status of every call that can fail. Values are stable; new ones are only appended.
typedef enum stepwise_status {
    STEPWISE_OK = 0,
    STEPWISE_SKIPPED = 1,          // success, but nothing was changed (e.g. a skipped step)
    STEPWISE_INVALID_ARGUMENT = 2, // a hyperparameter, config value or input is wrong
    STEPWISE_UNSUPPORTED = 3,      // the request is well-formed but not implemented
    STEPWISE_BAD_STATE = 4,        // saved state is malformed, truncated or of another version
    STEPWISE_NON_FINITE = 5,       // a NaN or infinity was found where none is allowed
    STEPWISE_OUT_OF_MEMORY = 6,
    STEPWISE_IO_ERROR = 7,         // a stream or file operation failed
    STEPWISE_INTERNAL = 8,         // a bug; the message says where
} stepwise_status;

// An error value: a status plus a message a user can act on. Errors are created only by
// the host (host->error_new) and released only by the host (host->error_free), so the
// side that allocates also frees. Opaque to plugins.
typedef struct stepwise_error stepwise_error;

// The element type of a tensor. Only F32 parameters, gradients and state are stepped in
// ABI 1.x; F16 and BF16 appear in mixed-precision views handed to hooks and wrappers.
typedef enum stepwise_dtype {
    STEPWISE_F32 = 0,
    STEPWISE_F64 = 1,
    STEPWISE_F16 = 2,
    STEPWISE_BF16 = 3,
    STEPWISE_I64 = 4,
} stepwise_dtype;

// A byte sink the host lends to a plugin that saves state. Modeled on clap_ostream.
typedef struct stepwise_ostream {
    size_t struct_size;
    void *ctx; // host's; opaque to the plugin
    // Writes up to `size` bytes from `buffer`; returns how many were written (> 0), or -1
    // on error. A plugin loops until everything is written. `buffer` is lent.
    // [instance-serial]
    int64_t (*write)(const struct stepwise_ostream *stream, const void *buffer, uint64_t size);
} stepwise_ostream;

// A byte source the host lends to a plugin that loads state. It may hand the bytes over
// in chunks of any size, down to one byte per call: plugins must loop. Modeled on
// clap_istream.
typedef struct stepwise_istream {
    size_t struct_size;
    void *ctx; // host's; opaque to the plugin
    // Reads up to `size` bytes into `buffer`; returns the count read, 0 at the end of the
    // stream, or -1 on error. `buffer` is the plugin's. [instance-serial]
    int64_t (*read)(const struct stepwise_istream *stream, void *buffer, uint64_t size);
} stepwise_istream;

// A named scalar, e.g. a validation metric ("loss", 0.31) or a logged value.
typedef struct stepwise_named_value {
    size_t struct_size;
    const char *name; // lent
    double value;
} stepwise_named_value;

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_BASE_H
