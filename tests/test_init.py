import torch
from torch import nn

from lstmkit.models.classifier import RecurrentClassifier


def test_keras_init_sets_forget_bias_orthogonal_recurrent_and_small_embeddings():
    torch.manual_seed(0)
    model = RecurrentClassifier(num_classes=3, vocab_size=50, embedding_dim=8, hidden_size=6)
    lstm = model.encoder.layers[0][0]
    assert isinstance(lstm, nn.LSTM)
    bias_ih = lstm.bias_ih_l0.detach()
    assert (
        torch.all(bias_ih[6:12] == 1)
        and torch.all(bias_ih[:6] == 0)
        and torch.all(bias_ih[12:] == 0)
    )
    assert torch.all(lstm.bias_hh_l0 == 0)
    for gate in lstm.weight_hh_l0.detach().chunk(4):
        torch.testing.assert_close(gate @ gate.T, torch.eye(6), atol=1e-5, rtol=0)
    emb = model.input_layer.weight.detach()
    assert emb.abs().max() <= 0.05 and torch.all(emb[0] == 0)


def test_torch_init_leaves_defaults():
    torch.manual_seed(0)
    model = RecurrentClassifier(num_classes=3, vocab_size=50, init="torch")
    assert model.input_layer.weight.abs().max() > 1.0  # N(0, 1)
