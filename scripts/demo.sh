#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh — the README's first command: installs what is missing, builds the
# library and the examples into build/, and runs the demos in order.
#
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One line per demo: a program in build/examples/ and its arguments.
demos=(
    "seed_backprop build/seed_backprop" # the lecture's worked example: forward values, chain rule, update
    "readme_logreg" # the README's logistic regression as an expression
    "logreg_wdbc examples/data build/logreg_wdbc.safetensors" # breast cancer data, saved model
    "logreg_2d build/logreg_2d" # two classes in the plane and the boundary (build/logreg_2d.png)
    "newton_logreg examples/data" # Newton steps with the engine's Hessian vs gradient descent
    "mlp_digits examples/data" # an MLP on the 8x8 digits
    "mlp_fashion /usr/share/datasets/fashion-mnist 12" # 784-256-128-10 on Fashion-MNIST
    "cnn_fashion /usr/share/datasets/fashion-mnist" # a LeNet-style CNN on Fashion-MNIST
    "autoencoder_fashion /usr/share/datasets/fashion-mnist build/autoencoder_fashion.png" # conv autoencoder, reconstructions
    "vae_fashion /usr/share/datasets/fashion-mnist build/vae_fashion" # VAE: test ELBO, reconstructions, samples
    "gan_digits examples/data build/gan_digits.png" # a GAN on the 8x8 digits, a grid of samples
    "text_lm lstm /usr/share/dict/american-english build/text_lstm" # a character LSTM on the word list
    "OPENBLAS_NUM_THREADS=1 text_lm gpt /usr/share/dict/american-english build/text_gpt" # a small GPT on it (one BLAS thread: faster for its small products)
    "mpirun -np 2 mlp_fashion_ddp /usr/share/datasets/fashion-mnist 2" # the MLP trained by two processes over MPI (data-parallel)
    "custom_op" # a user's op, its hand-written rule checked, a planted mistake found
)

build_dir=build

bash scripts/setup.sh --demo

# Configures a build directory, or reconfigures it when it exists already
# (with --wipe when it was made by another meson version).
configure() {
    local dir=$1
    shift
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

configure "$build_dir"
meson compile -C "$build_dir"

ran=0
for demo in "${demos[@]}"; do
    read -r -a cmd <<<"$demo"
    printf '\n==> %s\n\n' "$demo"
    # Leading NAME=value words are the demo's environment.
    vars=()
    while [[ ${cmd[0]} == *=* ]]; do
        vars+=("${cmd[0]}")
        cmd=("${cmd[@]:1}")
    done
    # "mpirun -np N prog ...": the example started as N processes. Open MPI
    # refuses root without two variables, and more ranks than cores
    # without --oversubscribe. Without MPI the example was not built.
    launcher=()
    if [[ ${cmd[0]} == mpirun ]]; then
        if [[ ! -x $build_dir/examples/${cmd[3]} ]]; then
            echo "demo.sh: skipping '$demo': the library was built without MPI"
            continue
        fi
        launcher=(mpirun --oversubscribe -np "${cmd[2]}")
        vars+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
        cmd=("${cmd[@]:3}")
    fi
    if ! env "${vars[@]}" "${launcher[@]}" "$build_dir/examples/${cmd[0]}" "${cmd[@]:1}"; then
        echo "demo.sh: '$demo' failed" >&2
        exit 1
    fi
    ran=$((ran + 1))
done
printf '\ndemo.sh: %d of %d demos ran\n' "$ran" "${#demos[@]}"
