/* SPDX-License-Identifier: MIT */
/* safetensors_internal.h — the safetensors reader and writer as building
 * blocks, shared by safetensors.c (plain model files) and checkpoint.c
 * (model + optimizer state in one file).
 *
 * A file is opened and its whole header validated (ag_st_open), checked
 * against a list of named tensors (ag_st_match), and only then are its bytes
 * read into a temporary buffer and copied into those tensors (ag_st_load_into).
 * Every failure records an error that starts with the file's path. Not
 * installed. */
#ifndef AG_SAFETENSORS_INTERNAL_H
#define AG_SAFETENSORS_INTERNAL_H

#include "op.h"

/* The reference implementation's limit: a longer header is broken or hostile. */
#define MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* At most this many tensors in one file: each costs a few hundred bytes of
 * parsed JSON, so the cap bounds a header's memory far below MAX_HEADER's
 * worst case while being far above any real model's tensor count. */
#define AG_ST_MAX_TENSORS 1000000u
/* json-c's parser flags: strict JSON (no trailing commas or garbage) and
 * valid UTF-8, as the specification requires (the reader parses headers,
 * the writer re-parses its own before writing it). */
#define TOKENER_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
/* Names in messages are cut to this many bytes, so a hostile name cannot
 * crowd the problem out of the 512-byte message. */
#define SHOWN 120

typedef unsigned long long ull;

/* The reserved header key of the optional string-to-string metadata. */
#define AG_ST_METADATA_KEY "__metadata__"

/* One tensor of a file's header, validated against the file. */
typedef struct ag_st_entry {
    const char *name;          /* borrowed from the parsed header */
    ag_dtype dtype;
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    uint64_t begin, end;       /* byte range in the data section, end exclusive */
    bool used;                 /* claimed by ag_st_match */
} ag_st_entry;

/* An open file whose header passed validation. */
typedef struct ag_st_file {
    const char *path;          /* borrowed, for messages */
    FILE *f;                   /* positioned anywhere; reads seek */
    void *header;              /* the parsed JSON header (json_object *) */
    ag_st_entry *entries;      /* n, in header order */
    ag_st_entry **by_name;     /* n, sorted by name (for lookups) */
    ag_st_entry **by_begin;    /* n, sorted by (begin, end): file order */
    size_t n;
    uint64_t data_start;       /* 8 + header length */
    uint64_t data_len;         /* bytes after the header; tensors cover them exactly */
} ag_st_file;

/* The dtype's name in the format ("F32", "F64", "I64"). */
const char *ag_st_dtype_name(ag_dtype d);
/* Whether this host stores integers little-endian, as the format does. */
bool ag_st_host_is_little_endian(void);
/* Reverses the bytes of each `width`-byte element: little <-> big endian. */
void ag_st_swap_elements(unsigned char *p, size_t nbytes, size_t width);

/* Opens `path` and validates its header: length (>= 2, within the file, at
 * most 100 MB), JSON syntax (UTF-8, an object), every entry's dtype, shape
 * (0..8 non-negative dimensions, no overflow) and offsets (in range, size =
 * elements x dtype size), and that the tensors tile the data section
 * without overlaps or gaps. On failure returns false with AG_ERR_IO,
 * AG_ERR_PARSE, AG_ERR_DTYPE, AG_ERR_SHAPE or AG_ERR_NOMEM recorded, and
 * *sf needs no closing. */
bool ag_st_open(ag_st_file *sf, const char *path);
/* Closes the file and frees the parsed header. Safe on a zeroed struct. */
void ag_st_close(ag_st_file *sf);
/* The metadata value under `key`, or NULL when absent. Borrowed: valid until
 * ag_st_close. */
const char *ag_st_metadata(const ag_st_file *sf, const char *key);
/* The entry named `name`, or NULL. Borrowed. */
ag_st_entry *ag_st_find(const ag_st_file *sf, const char *name);
/* Checks that the file holds exactly the n tensors named names[i], each with
 * the dtype and shape of ts[i]: a missing or an extra tensor is
 * AG_ERR_NOTFOUND, a different dtype AG_ERR_DTYPE, a different shape
 * AG_ERR_SHAPE. Changes no tensor. */
bool ag_st_match(ag_st_file *sf, size_t n, const char *const *names, ag_tensor *const *ts);
/* ag_st_match, then reads the whole data section into a temporary buffer
 * and only then copies every tensor's values into ts[i]. On failure no
 * tensor has changed. */
bool ag_st_load_into(ag_st_file *sf, size_t n, const char *const *names, ag_tensor *const *ts);
/* Reads the data of every entry into dest[i] (entry i in header order,
 * end - begin bytes each), converted to the host's byte order. */
bool ag_st_read_data(ag_st_file *sf, void *const *dest);

/* Writes n tensors under names[i] (unique, not "__metadata__") plus the
 * metadata pairs (NULL-terminated key, value, ...; may be NULL) to `path`
 * through a temporary file in the same folder that is flushed, synced and
 * renamed over `path`. On failure the temporary file is removed and any
 * file at `path` is left as it was. */
bool ag_st_save(const char *path, size_t n, const char *const *names, ag_tensor *const *ts,
                const char *const *metadata);

#endif
