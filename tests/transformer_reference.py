#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""transformer_reference.py — PyTorch's outputs and gradients of
nn.MultiheadAttention, a pre-LN nn.TransformerEncoderLayer and a tiny GPT
built from nn modules, for check-transformer.c.

    /usr/bin/python3 tests/transformer_reference.py > tests/transformer_reference.h

(needs PyTorch: Debian's python3-torch). Everything is float64. Every
parameter is overwritten with 0.5·N(0, 1) draws of a seeded generator
(LayerNorm weights 1 + 0.3·N(0, 1)) so that no init hides a mistake, and
written out by its state_dict name, which the C test uses to load it.
Losses: Σ out · R for a fixed R for attention and the block, the mean
cross-entropy of next-token targets for the GPT; the gradients are
torch.autograd's, for every parameter (and x)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
GEN = torch.Generator().manual_seed(20261206)


def randn(*shape):
    return torch.randn(*shape, generator=GEN)


def fill(module):
    with torch.no_grad():
        for name, t in module.named_parameters():
            owner = name.split('.')[-2] if '.' in name else ''
            if owner.startswith('norm') or owner == 'ln_f':
                base = 1.0 if name.endswith('weight') else 0.0
                t.copy_(base + 0.3 * randn(*t.shape))
            else:
                t.copy_(0.5 * randn(*t.shape))


def causal_mask(T):
    return torch.triu(torch.full((T, T), float('-inf')), diagonal=1)


def c_name(s):
    return s.replace('.', '_')


def c_double(x):
    return '-INFINITY' if x == float('-inf') else repr(float(x))


class Out:
    def __init__(self):
        self.lines = []

    def array(self, name, t):
        vals = ', '.join(c_double(x) for x in t.reshape(-1).tolist())
        self.lines.append(f'static const double {name}[] = {{{vals}}};')

    def ids(self, name, t):
        vals = ', '.join(str(int(x)) for x in t.reshape(-1).tolist())
        self.lines.append(f'static const int64_t {name}[] = {{{vals}}};')

    def table(self, case, kind, named):
        rows = []
        for name, t in named:
            arr = f'tr_{case}_{kind}_{c_name(name)}'
            self.array(arr, t)
            shape = ', '.join(str(d) for d in t.shape)
            rows.append(f'    {{"{name}", {t.dim()}, {{{shape}}}, {arr}}},')
        self.lines.append(f'static const tr_ref tr_{case}_{kind}[] = {{')
        self.lines.extend(rows)
        self.lines.append('};')
        self.lines.append(f'enum {{ TR_{case.upper()}_N_{kind.upper()} = {len(named)} }};')


def attention_case(out, case, mask_kind):
    N, T, E, H = 2, 4, 6, 2
    m = nn.MultiheadAttention(E, H, batch_first=True)
    fill(m)
    x = randn(N, T, E).requires_grad_()
    R = randn(N, T, E)
    mask = None
    if mask_kind == 'causal':
        mask = causal_mask(T)
    elif mask_kind == 'mask3':  # PyTorch's (N·H, T, S) float mask
        mask = 0.5 * randn(N * H, T, T)
        mask[:, 1, 2] = float('-inf')
    y = m(x, x, x, attn_mask=mask, need_weights=False)[0]
    (y * R).sum().backward()
    prefix = 'attn.'
    out.table(case, 'params', [(prefix + n, t.detach()) for n, t in m.named_parameters()])
    out.table(case, 'grads', [(prefix + n, t.grad) for n, t in m.named_parameters()])
    out.array(f'tr_{case}_x', x.detach())
    out.array(f'tr_{case}_r', R)
    out.array(f'tr_{case}_y', y.detach())
    out.array(f'tr_{case}_gx', x.grad)
    if mask_kind == 'mask3':
        out.array(f'tr_{case}_mask', mask)


def block_case(out, case, causal):
    N, T, d, H, ff = 2, 5, 6, 2, 10
    m = nn.TransformerEncoderLayer(d, H, ff, dropout=0.0, activation='gelu', batch_first=True,
                                   norm_first=True)
    fill(m)
    x = randn(N, T, d).requires_grad_()
    R = randn(N, T, d)
    y = m(x, src_mask=causal_mask(T) if causal else None)
    (y * R).sum().backward()
    prefix = 'blk.'
    out.table(case, 'params', [(prefix + n, t.detach()) for n, t in m.named_parameters()])
    out.table(case, 'grads', [(prefix + n, t.grad) for n, t in m.named_parameters()])
    out.array(f'tr_{case}_x', x.detach())
    out.array(f'tr_{case}_r', R)
    out.array(f'tr_{case}_y', y.detach())
    out.array(f'tr_{case}_gx', x.grad)


class GPT(nn.Module):
    """The C library's GPT, in nn modules under the same names."""

    def __init__(self, V, B, d, L, H, ff, tied):
        super().__init__()
        self.tok_emb = nn.Embedding(V, d)
        self.pos_emb = nn.Embedding(B, d)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, H, ff, dropout=0.0, activation='gelu',
                                       batch_first=True, norm_first=True) for _ in range(L))
        self.ln_f = nn.LayerNorm(d)
        self.tied = tied
        if not tied:
            self.head = nn.Linear(d, V, bias=False)

    def forward(self, ids):
        T = ids.shape[1]
        h = self.tok_emb(ids) + self.pos_emb(torch.arange(T))
        for b in self.blocks:
            h = b(h, src_mask=causal_mask(T))
        h = self.ln_f(h)
        return F.linear(h, self.tok_emb.weight) if self.tied else self.head(h)


GPT_CFG = dict(V=7, B=5, d=6, L=2, H=2, ff=8)


def gpt_case(out, case, tied):
    m = GPT(tied=tied, **GPT_CFG)
    fill(m)
    N, T = 2, 4
    ids = torch.randint(0, GPT_CFG['V'], (N, T), generator=GEN)
    targets = torch.randint(0, GPT_CFG['V'], (N, T), generator=GEN)
    logits = m(ids)
    loss = F.cross_entropy(logits.reshape(-1, GPT_CFG['V']), targets.reshape(-1))
    loss.backward()
    out.table(case, 'params', [(n, t.detach()) for n, t in m.named_parameters()])
    out.table(case, 'grads', [(n, t.grad) for n, t in m.named_parameters()])
    out.ids(f'tr_{case}_ids', ids)
    out.ids(f'tr_{case}_targets', targets)
    out.array(f'tr_{case}_logits', logits.detach())
    out.array(f'tr_{case}_loss', loss.detach().reshape(1))


def main():
    out = Out()
    out.lines.append('/* Generated by tests/transformer_reference.py (PyTorch '
                     f'{torch.__version__}); do not edit. */')
    out.lines.append('#ifndef TRANSFORMER_REFERENCE_H\n#define TRANSFORMER_REFERENCE_H')
    out.lines.append('#include <math.h>\n#include <stdint.h>')
    out.lines.append('typedef struct tr_ref {\n    const char *name;\n    int ndim;\n'
                     '    int64_t shape[4];\n    const double *data;\n} tr_ref;')
    attention_case(out, 'mha', None)
    attention_case(out, 'mha_causal', 'causal')
    attention_case(out, 'mha_mask3', 'mask3')
    block_case(out, 'block', False)
    block_case(out, 'block_causal', True)
    for k, v in GPT_CFG.items():
        out.lines.append(f'#define TR_GPT_{k} {v}')
    gpt_case(out, 'gpt_untied', False)
    gpt_case(out, 'gpt_tied', True)
    out.lines.append('#endif')
    print('\n'.join(out.lines))


if __name__ == '__main__':
    main()
