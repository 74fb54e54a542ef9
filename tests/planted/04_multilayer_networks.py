"""Planted answers for lesson 04_multilayer_networks: correct answers written differently from the solution."""

# grade id of the answer cell -> the whole cell source a student would hand in; each scores full marks
ALTERNATIVES = {
    # plain Python loops and ints, with the biases counted layer by layer
    "count_parameters": '''def count_parameters(sizes):
    """Neurons, weights and parameters of a fully connected feed-forward network."""
    sizes = list(sizes)
    neurons = weights = biases = 0
    for q in range(1, len(sizes)):
        neurons += int(sizes[q])
        weights += int(sizes[q - 1]) * int(sizes[q])
        biases += int(sizes[q])
    return (neurons, weights, weights + biases)
''',
    # torch in float64, one nn.functional.linear per layer, converted back to numpy
    "mlp_forward": '''def mlp_forward(X, layers, phi, linear_output=False):
    """Forward pass with torch.nn.functional.linear (which computes x @ W.T + b), back to numpy for phi."""
    import torch
    a = torch.as_tensor(np.asarray(X, dtype=np.float64))
    for q, (W, b) in enumerate(layers):
        z = torch.nn.functional.linear(a, torch.as_tensor(np.asarray(W, dtype=np.float64)),
                                       torch.as_tensor(np.asarray(b, dtype=np.float64)))
        if q == len(layers) - 1 and linear_output:
            return z.numpy()
        a = torch.as_tensor(np.asarray(phi(z.numpy()), dtype=np.float64))
    return a.numpy()
''',
    # three hidden neurons, one of which never matters: "x1 but not x2", "x2 but not x1", and a constant
    "xor_layers": '''def xor_layers():
    """XOR = (x1 AND NOT x2) OR (x2 AND NOT x1), with a third hidden neuron that always fires and is ignored."""
    W1 = np.array([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]])
    b1 = np.array([-0.5, -0.5, 0.5])
    W2 = np.array([[1.0, 1.0, 0.0]])
    b2 = np.array([-0.5])
    return [(W1, b1), (W2, b2)]
''',
    # the six neurons one at a time, with np.where for the ReLU, in float32 when the input is float32
    "six_relu": '''def six_relu(x):
    """Z(x) written neuron by neuron."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(float)
    table = [(-5.0, -7.7, -1), (-1.2, -1.3, -1), (1.2, 1.0, -1), (1.2, -0.2, 1), (2.0, -1.1, 1), (5.0, -5.0, 1)]
    z = np.zeros_like(x)
    for w, b, sign in table:
        net = w * x + b
        z = z + sign * np.where(net > 0, net, 0.0)
    return z
''',
}

# plausible wrong answers -> (the cell, the test cells that must fail)
MISTAKES = {
    # the weights used as (n_in, n_out): X @ W, which only works here because the visible square-free shapes catch it
    "mlp_forward": ('''def mlp_forward(X, layers, phi, linear_output=False):
    a = np.asarray(X, dtype=float)
    for q, (W, b) in enumerate(layers):
        W = np.asarray(W, dtype=float)
        z = a @ (W if W.shape[0] == a.shape[1] else W.T) + b
        a = z if (q == len(layers) - 1 and linear_output) else phi(z)
    return a
''', ["mlp_forward_tests"]),
    # the biases forgotten
    "count_parameters": ('''def count_parameters(sizes):
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return sum(sizes[1:]), weights, weights
''', ["count_parameters_tests"]),
    # lines through the corners instead of between them: right on the corners, wrong under noise
    "xor_layers": ('''def xor_layers():
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([-1.0, -2.0])
    W2 = np.array([[1.0, -1.0]])
    b2 = np.array([-1.0])
    return [(W1, b1), (W2, b2)]
''', ["xor_layers_tests"]),
    # n4's bias with the wrong sign
    "six_relu": ('''def six_relu(x):
    x = np.asarray(x, dtype=float)
    w = np.array([-5.0, -1.2, 1.2, 1.2, 2.0, 5.0])
    b = np.array([-7.7, -1.3, 1.0, 0.2, -1.1, -5.0])
    return np.maximum(0.0, x[..., None] * w + b) @ np.array([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0])
''', ["six_relu_tests"]),
}
