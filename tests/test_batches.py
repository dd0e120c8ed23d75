import numpy as np
import torch

from lstmkit.data.batches import RaggedDataset, collate
from lstmkit.data.ragged import Ragged


def test_batch_is_padded_to_its_longest_and_reports_lengths():
    ds = RaggedDataset(
        Ragged.from_list([np.array([5, 6, 7]), np.array([8]), np.array([9, 10])]),
        np.array([0, 1, 2]),
    )
    batch = collate(ds.__getitems__([1, 2]))
    assert batch["inputs"].tolist() == [[8, 0], [9, 10]]
    assert batch["lengths"].tolist() == [1, 2]
    assert batch["targets"].tolist() == [1, 2]
    assert batch["inputs"].dtype == torch.int32
