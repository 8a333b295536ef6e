"""The two DCGAN losses, written as the paper's objectives on D's logits.

    loss_d = d_loss(D(real), D(G(z).detach()))   # D: tell real from generated
    loss_g = g_loss(D(G(z)))                     # G: make D call its images real
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy: real images labelled `real_target` (1, or e.g. 0.9 for one-sided label
    smoothing, which keeps D from growing over-confident), generated ones 0."""
    real = F.softplus(-real_logits).mean()
    if real_target != 1.0:
        real = real_target * real + (1 - real_target) * F.softplus(real_logits).mean()
    return real + F.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating: G maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""
    return F.softplus(-fake_logits).mean()
