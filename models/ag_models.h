/* ag_models.h — models as expressions: named parameters, initialisation,
 * layers, optimizers, data sets, training and model files.
 *
 * Included by autograd.h; nothing here knows a gradient formula: every
 * gradient comes from the tape. */
#ifndef AG_MODELS_H
#define AG_MODELS_H

/* ------------------------------------------------------------------ */
/* Parameters by name                                                  */
/* ------------------------------------------------------------------ */

/* A store of named leaf tensors ("fc1.weight"), kept in insertion order.
 * Optimizers, zeroing, counting, saving and loading iterate over it. */
typedef struct ag_params ag_params;

/* A new, empty store. Caller owns; free with ag_params_free. */
ag_params *ag_params_new(void);
/* Frees the store and every tensor it owns. NULL is a no-op. */
void ag_params_free(ag_params *p);
/* Adds leaf t under `name` (copied, at most 127 bytes); the store takes
 * ownership of t (also on failure, when t is freed). Float tensors are
 * marked requires_grad. Returns t, or NULL with AG_ERR_VALUE when the name
 * is taken or t is not a leaf. */
ag_tensor *ag_params_add(ag_params *p, const char *name, ag_tensor *t);
/* The tensor under `name`, or NULL (AG_ERR_NOTFOUND). Borrowed. */
ag_tensor *ag_params_get(const ag_params *p, const char *name);
/* The number of tensors, and the i-th in insertion order (with its name;
 * both borrowed). */
size_t ag_params_count(const ag_params *p);
ag_tensor *ag_params_at(const ag_params *p, size_t i, const char **name);
/* The total number of scalars in all tensors. */
size_t ag_params_numel(const ag_params *p);
/* Zeroes every tensor's gradient. */
void ag_params_zero_grad(ag_params *p);
/* A deep copy (values only, requires_grad kept). Caller owns. */
ag_params *ag_params_clone(const ag_params *p);

/* ------------------------------------------------------------------ */
/* Initialisation (seeded)                                             */
/* ------------------------------------------------------------------ */

typedef enum ag_init {
    AG_INIT_ZEROS = 0,
    AG_INIT_XAVIER_UNIFORM, /* U(±√(6/(fan_in+fan_out))) — Glorot & Bengio 2010 */
    AG_INIT_XAVIER_NORMAL,  /* N(0, 2/(fan_in+fan_out)) */
    AG_INIT_HE_UNIFORM,     /* U(±√(6/fan_in)) — He et al. 2015, for ReLU */
    AG_INIT_HE_NORMAL       /* N(0, 2/fan_in) */
} ag_init;

/* A new (fan_in, fan_out) leaf initialised by `init` from rng (rows are
 * inputs, so a layer computes x·W). */
ag_tensor *ag_init_matrix(ag_dtype dtype, int64_t fan_in, int64_t fan_out, ag_init init,
                          ag_rng *rng);

/* ------------------------------------------------------------------ */
/* Layers and models                                                   */
/* ------------------------------------------------------------------ */

typedef enum ag_activation {
    AG_ACT_NONE = 0,
    AG_ACT_SIGMOID,
    AG_ACT_TANH,
    AG_ACT_RELU
} ag_activation;

/* act(x): one of the activations by enum. */
ag_tensor *ag_activate(ag_tensor *x, ag_activation act);

/* Adds "<name>.weight" (in, out) and "<name>.bias" (out) to p, initialised
 * by `init` (bias zeros). Returns false on error. */
bool ag_linear_init(ag_params *p, const char *name, int64_t in, int64_t out, ag_dtype dtype,
                    ag_init init, ag_rng *rng);
/* x·W + b with "<name>.weight" and "<name>.bias" from p; x is (batch, in). */
ag_tensor *ag_linear(const ag_params *p, const char *name, ag_tensor *x);

/* A multilayer perceptron: sizes[0] inputs, sizes[n-1] outputs, layers
 * "fc1", "fc2", ... with `act` between them and none after the last. */
typedef struct ag_mlp {
    ag_params *params;  /* owned */
    int n_layers;       /* n_sizes - 1 */
    int64_t sizes[16];
    ag_activation act;
} ag_mlp;

/* Builds the MLP's parameters (He init for ReLU, Xavier otherwise).
 * Caller owns; free with ag_mlp_free. */
ag_mlp *ag_mlp_new(int n_sizes, const int64_t *sizes, ag_activation act, ag_dtype dtype,
                   ag_rng *rng);
void ag_mlp_free(ag_mlp *m);
/* The logits (batch, sizes[n-1]) for x (batch, sizes[0]). */
ag_tensor *ag_mlp_forward(const ag_mlp *m, ag_tensor *x);

/* Binary logistic regression p(y=1|x) = σ(x·w + b): parameters "w" (d, 1)
 * and "b" (1). */
ag_params *ag_logreg_new(int64_t d, ag_dtype dtype);
/* The logits x·w + b, (batch, 1). */
ag_tensor *ag_logreg_logits(const ag_params *p, ag_tensor *x);

/* Multinomial (softmax) regression: "W" (d, k), "b" (k); logits x·W + b. */
ag_params *ag_softmax_regression_new(int64_t d, int64_t k, ag_dtype dtype);
ag_tensor *ag_softmax_regression_logits(const ag_params *p, ag_tensor *x);

/* λ/2 · Σ‖W‖² over every parameter whose name ends in "weight" or is "w"/"W"
 * (biases are not penalised). Add it to a loss. */
ag_tensor *ag_l2_penalty(const ag_params *p, double lambda);

/* ------------------------------------------------------------------ */
/* Optimizers                                                          */
/* ------------------------------------------------------------------ */

typedef enum ag_optim_kind { AG_SGD = 0, AG_ADAM, AG_ADAMW } ag_optim_kind;

typedef struct ag_optim_config {
    ag_optim_kind kind;
    double lr;           /* learning rate */
    double momentum;     /* SGD: 0 for plain SGD */
    bool nesterov;       /* SGD: Nesterov momentum */
    double beta1, beta2; /* Adam/AdamW: defaults 0.9, 0.999 when 0 */
    double eps;          /* Adam/AdamW: default 1e-8 when 0 */
    double weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    double clip_norm;    /* > 0: scale all gradients so their global norm is at most this */
} ag_optim_config;

/* The optimizer keeps its state (momenta, moments) per parameter name, so it
 * can be saved and restored with the model. */
typedef struct ag_optim ag_optim;

/* An optimizer over every float tensor of `params` (borrowed: it must
 * outlive the optimizer). Caller owns; free with ag_optim_free. */
ag_optim *ag_optim_new(ag_params *params, const ag_optim_config *cfg);
void ag_optim_free(ag_optim *o);
/* One update from the current gradients, run without recording.
 * Parameters without a gradient are left as they are. */
bool ag_optim_step(ag_optim *o);
/* Zeroes the gradients of the optimizer's parameters. */
void ag_optim_zero_grad(ag_optim *o);
double ag_optim_lr(const ag_optim *o);
void ag_optim_set_lr(ag_optim *o, double lr);
/* Steps taken so far (Adam's bias correction uses it). */
uint64_t ag_optim_steps(const ag_optim *o);
void ag_optim_set_steps(ag_optim *o, uint64_t steps);
/* The optimizer's state as named tensors ("exp_avg.fc1.weight", ...),
 * owned by the optimizer; values may be written (to restore a checkpoint)
 * but not the set of names. */
ag_params *ag_optim_state(ag_optim *o);
/* The global L2 norm of all gradients, before clipping, of the last step. */
double ag_optim_last_grad_norm(const ag_optim *o);

/* Learning-rate schedules: the rate for step t (0-based) of `total`. */
typedef enum ag_schedule { AG_SCHEDULE_CONSTANT = 0, AG_SCHEDULE_STEP, AG_SCHEDULE_COSINE } ag_schedule;
typedef struct ag_schedule_config {
    ag_schedule kind;
    double base_lr;
    uint64_t step_size;  /* STEP: multiply by gamma every step_size steps */
    double gamma;
    uint64_t total;      /* COSINE: steps to anneal over ... */
    double min_lr;       /* ... down to min_lr */
} ag_schedule_config;
double ag_schedule_lr(const ag_schedule_config *s, uint64_t t);

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

/* Features X (n, d) in a float dtype and labels y (n) as i64 class labels,
 * plus the feature names when the source had them. */
typedef struct ag_dataset {
    ag_tensor *X;          /* owned */
    ag_tensor *y;          /* owned; i64 (n) */
    int64_t n, d;
    int64_t n_classes;     /* 1 + the largest label */
    char **feature_names;  /* d names or NULL; owned */
} ag_dataset;

void ag_dataset_free(ag_dataset *d);

typedef struct ag_csv_options {
    const char *label_column; /* by name (header row required), or NULL ... */
    int label_index;          /* ... by 0-based index; -1 = the last column */
    ag_dtype dtype;           /* of X (default f32 = 0) */
    bool no_header;           /* the first row is data */
} ag_csv_options;

/* Reads a numeric CSV file (comma-separated, optional header row, '#'
 * comments, blank lines skipped). Labels must be whole numbers >= 0.
 * Errors name the file, line and column: "wdbc.csv:17:4: 'abc' is not a
 * number". Caller owns the result. */
ag_dataset *ag_csv_load(const char *path, const ag_csv_options *opts);

/* Reads MNIST-format IDX files (plain or gzip-compressed; detected by the
 * magic bytes): images (n, rows, cols) u8 and labels (n) u8. X is (n,
 * rows*cols) scaled to [0, 1]. Errors name the file, the byte offset and
 * the problem. Caller owns the result. */
ag_dataset *ag_idx_load(const char *images_path, const char *labels_path, ag_dtype dtype);

/* Splits rows into train and test sets after a seeded shuffle;
 * test_fraction in (0, 1). Both results are new data sets (caller owns). */
bool ag_dataset_split(const ag_dataset *d, double test_fraction, uint64_t seed,
                      ag_dataset **train, ag_dataset **test);

/* Per-feature mean and standard deviation, fitted on one set and applied to
 * any (train, then test) — constant features get std 1. */
typedef struct ag_standardizer {
    int64_t d;
    double *mean;  /* owned */
    double *std;   /* owned */
} ag_standardizer;
bool ag_standardizer_fit(ag_standardizer *s, const ag_dataset *d);
bool ag_standardizer_apply(const ag_standardizer *s, ag_dataset *d);
void ag_standardizer_free(ag_standardizer *s);

/* Labels as a float (n, 1) tensor of 0/1, for binary models. Caller owns. */
ag_tensor *ag_dataset_targets(const ag_dataset *d, ag_dtype dtype);

/* Minibatches in a seeded random order, reshuffled every epoch. The batch
 * tensors are leaves owned by the iterator and reused, so iterating
 * allocates nothing after the first batch; the last batch of an epoch may be
 * smaller (then the tensors are re-made at that size). */
typedef struct ag_batches ag_batches;
ag_batches *ag_batches_new(const ag_dataset *d, int64_t batch_size, bool shuffle, uint64_t seed);
void ag_batches_free(ag_batches *b);
/* The next batch of the epoch: X (b, d), y (b) i64, and targets (b, 1) 0/1
 * in X's dtype; false at the end of the epoch (the next call starts a new
 * shuffled epoch). The tensors are valid until the next call. */
bool ag_batches_next(ag_batches *b, ag_tensor **X, ag_tensor **y, ag_tensor **targets);
/* Batches per epoch. */
int64_t ag_batches_count(const ag_batches *b);

/* ------------------------------------------------------------------ */
/* Model files: safetensors                                            */
/* ------------------------------------------------------------------ */

/* Saves every tensor of p (f32, f64 or i64) in the safetensors format: an
 * 8-byte little-endian header length, a JSON header with each tensor's
 * dtype, shape and data offsets (plus optional string metadata: key/value
 * pairs in `metadata`, NULL-terminated, may be NULL), then the raw
 * little-endian data. The file is written to a temporary file in the same
 * folder and renamed over `path`, so a failed save never leaves a corrupt
 * file where a good one was. */
bool ag_safetensors_save(const char *path, const ag_params *p, const char *const *metadata);

/* Loads a file into the existing tensors of p: every tensor of p must be in
 * the file with the same dtype and shape (extra tensors in the file are an
 * error too). The whole file is validated before any value is copied, so on
 * any error (AG_ERR_IO, AG_ERR_PARSE, AG_ERR_SHAPE, AG_ERR_DTYPE,
 * AG_ERR_NOTFOUND) p is unchanged. */
bool ag_safetensors_load(const char *path, ag_params *p);

/* Reads every tensor of a file into a new store (caller owns). */
ag_params *ag_safetensors_read(const char *path);

/* A training checkpoint: the model's parameters and the optimizer's state
 * and step count in one safetensors file, so that training resumes exactly
 * where it stopped (bit-identical to an uninterrupted run). Loading is all
 * or nothing, as ag_safetensors_load. */
bool ag_checkpoint_save(const char *path, const ag_params *model, ag_optim *opt);
bool ag_checkpoint_load(const char *path, ag_params *model, ag_optim *opt);

/* ------------------------------------------------------------------ */
/* Training                                                            */
/* ------------------------------------------------------------------ */

/* A loss for one minibatch, built as an expression: the training helper
 * calls it, runs backward, steps the optimizer and resets the tape. */
typedef ag_tensor *(*ag_loss_fn)(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets);
/* The model's logits for evaluation (accuracy: argmax for several columns,
 * logit > 0 for one). */
typedef ag_tensor *(*ag_logits_fn)(void *model, ag_tensor *X);

typedef struct ag_train_config {
    int epochs;
    int64_t batch_size;
    uint64_t seed;              /* shuffling */
    const ag_schedule_config *schedule; /* NULL: the optimizer's lr throughout */
    bool quiet;                 /* no progress output */
    FILE *progress;             /* NULL: stderr; a bar on a terminal, plain lines otherwise */
    const char *log_csv;        /* NULL, or a file for one line per epoch */
    const char *plot_png;       /* NULL, or a loss/accuracy picture (gnuplot, when installed) */
    bool stop_on_nan;           /* stop with AG_ERR_NUMERIC when a loss is not finite */
} ag_train_config;

typedef struct ag_epoch_stats {
    int epoch;
    double train_loss;     /* mean over the epoch's batches */
    double test_loss;      /* NAN without a test set */
    double test_accuracy;  /* NAN without a test set */
    double seconds;
    double examples_per_s;
} ag_epoch_stats;

/* Trains for cfg->epochs over `train`, evaluating on `test` (may be NULL)
 * after every epoch. `stats` (may be NULL) receives the last epoch's
 * figures. Returns false on error (the message says which epoch and step). */
bool ag_train(void *model, ag_loss_fn loss, ag_logits_fn logits, ag_optim *opt,
              const ag_dataset *train, const ag_dataset *test, const ag_train_config *cfg,
              ag_epoch_stats *stats);

/* Accuracy and mean loss of a model on a data set, in batches, without
 * recording. loss may be NULL (then *mean_loss is NAN). */
bool ag_evaluate(void *model, ag_loss_fn loss, ag_logits_fn logits, const ag_dataset *d,
                 int64_t batch_size, double *accuracy, double *mean_loss);

#endif
