"""The benchmark's training loop in PyTorch (CUDA), for a side-by-side figure.

MNIST 784-128-10, ReLU, cross-entropy, plain SGD lr 0.1, batch 64 and 512, the whole training
set on the GPU, three epochs each; prints the steady-state epoch time and samples/s as JSON.
"""
import gzip, json, struct, time
import torch

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).reshape(count, rows * cols)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8)

device = "cuda"
x = (idx("data/mnist/train-images-idx3-ubyte.gz").float() / 255).to(device)
y = idx("data/mnist/train-labels-idx1-ubyte.gz").long().to(device)
results = []
for batch in (64, 512):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    times = []
    for epoch in range(3):
        torch.cuda.synchronize(); start = time.perf_counter()
        order = torch.randperm(x.shape[0], device=device)
        for i in range(0, x.shape[0], batch):
            index = order[i:i + batch]
            loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()
        torch.cuda.synchronize(); times.append(time.perf_counter() - start)
    steady = sorted(times[1:])[len(times[1:]) // 2]
    results.append({"batch": batch, "first_epoch_seconds": times[0], "steady_epoch_seconds": steady, "samples_per_sec": x.shape[0] / steady})
print(json.dumps({"backend": "pytorch-cuda", "runs": results}))
