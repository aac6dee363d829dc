"""The benchmark's training loop in PyTorch (CUDA), for a side-by-side figure.

MNIST 784-128-10, ReLU, cross-entropy, plain SGD lr 0.1, batch 64 and 512, the whole training
set on the GPU, three epochs each; two programs: plain eager PyTorch, and the whole step
(gather, forward, backward, update) captured once in a CUDA graph and replayed for every full
batch (the short last batch runs eagerly). Prints the steady-state epoch time and samples/s of
each as JSON.
"""
import gzip, json, struct, time
import torch
import torch.nn.functional as F

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
rows = x.shape[0]

def fresh():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.1)

def eager_step(model, optimizer, index):
    loss = F.cross_entropy(model(x[index]), y[index])
    optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()
    return loss

def plain(batch):
    model, optimizer = fresh()
    times = []
    for epoch in range(3):
        torch.cuda.synchronize(); start = time.perf_counter()
        order = torch.randperm(rows, device=device)
        for i in range(0, rows, batch):
            eager_step(model, optimizer, order[i:i + batch])
        torch.cuda.synchronize(); times.append(time.perf_counter() - start)
    return times, None

def graphed(batch):
    model, optimizer = fresh()
    index = torch.arange(batch, device=device)
    # Warm up on a side stream, as torch.cuda.graph requires, then capture one whole step.
    side = torch.cuda.Stream(); side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            eager_step(model, optimizer, index)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = F.cross_entropy(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
    times, last_loss = [], None
    full = rows // batch * batch
    for epoch in range(3):
        torch.cuda.synchronize(); start = time.perf_counter()
        order = torch.randperm(rows, device=device)
        for i in range(0, full, batch):
            index.copy_(order[i:i + batch])
            graph.replay()
        if full < rows:
            eager_step(model, optimizer, order[full:])
        torch.cuda.synchronize(); times.append(time.perf_counter() - start)
        last_loss = float(loss)
    return times, last_loss

results = []
for program, train in (("pytorch-cuda", plain), ("pytorch-cuda-graph", graphed)):
    for batch in (64, 512):
        times, last_loss = train(batch)
        steady = sorted(times[1:])[len(times[1:]) // 2]
        results.append({"program": program, "batch": batch, "first_epoch_seconds": times[0],
                        "steady_epoch_seconds": steady, "samples_per_sec": rows / steady,
                        "last_replayed_loss": last_loss})
print(json.dumps({"runs": results}))
