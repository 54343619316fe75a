// The backward pass: reverse topological walk of the recorded nodes.
//
//   loss.backward()                         accumulate dL/dleaf into every trainable leaf's .grad
//   gradients(of: y, wrt: [x], createGraph: true)
//                                           dy/dx as Variables; with createGraph the backward
//                                           rules are recorded, so the result is differentiable
//                                           (PyTorch autograd.grad(create_graph=True)).
// The graph is released after the pass (saved activations freed) unless retainGraph is
// true; createGraph implies retainGraph, since the new graph refers to the old one.
import TensorCore

extension Variable {
    /// Backpropagates from this variable (a one-element tensor unless `seed` is given) and
    /// adds the gradients into `.grad` of every leaf with `requiresGrad`.
    public func backward(seed: Tensor? = nil, retainGraph: Bool = false) {
        _ = runBackward(root: self, seed: seed, targets: nil, createGraph: false, retainGraph: retainGraph)
    }
}

/// Gradients of `y` (one element unless `seed`) with respect to `xs` (zeros where `y` does
/// not depend on an x). Leaves' `.grad` are left untouched.
public func gradients(of y: Variable, wrt xs: [Variable], seed: Tensor? = nil,
                      createGraph: Bool = false, retainGraph: Bool? = nil) -> [Variable] {
    let g = runBackward(root: y, seed: seed, targets: xs, createGraph: createGraph,
                        retainGraph: retainGraph ?? createGraph)
    return xs.map { g[Edge($0).id] ?? Variable(Tensor(zeros: $0.shape)) }
}

func runBackward(root: Variable, seed: Tensor?, targets: [Variable]?, createGraph: Bool,
                 retainGraph: Bool) -> [ObjectIdentifier: Variable] {
    precondition(root.needsGrad, "backward from a variable that is not on the tape (computed under withNoGrad, "
                 + "detached, or from inputs that need no gradient)")
    let seedTensor: Tensor
    if let seed {
        precondition(seed.shape == root.shape, "seed shape \(seed.shape) != \(root.shape)")
        seedTensor = seed
    } else {
        precondition(root.value.count == 1, "backward() needs a one-element output, got \(root.shape); pass a seed")
        seedTensor = Tensor(ones: root.shape)
    }
    let targetIDs = Set((targets ?? []).map { Edge($0).id })

    // Post-order (inputs before users), with relevance: does a gradient reach a target from here?
    var order: [Edge] = []
    var relevant: [ObjectIdentifier: Bool] = [:]
    let rootVertex = Edge(root)
    var stack: [(Edge, Bool)] = [(rootVertex, false)]
    while let (v, expanded) = stack.popLast() {
        let id = v.id
        if expanded {
            var r: Bool
            switch v {
            case .leaf(let leaf): r = targets != nil ? targetIDs.contains(id) : leaf.requiresGrad
            case .node(let node):
                r = targets != nil && targetIDs.contains(id)
                precondition(node.rule != nil, "backward through a released graph (op \(node.name)); use retainGraph: true")
                for i in node.edges where relevant[i.id] == true { r = true }
            }
            relevant[id] = r
            order.append(v)
            continue
        }
        if relevant[id] != nil { continue }
        relevant[id] = false            // visiting
        stack.append((v, true))
        if case .node(let node) = v {
            for i in node.edges where relevant[i.id] == nil && i.needsGrad { stack.append((i, false)) }
        }
    }

    // Ops recorded by the rules (createGraph) are checked as the backward pass's.
    let outerPass = AnomalyMode.pass
    AnomalyMode.pass = .backward
    defer { AnomalyMode.pass = outerPass }
    var grads: [ObjectIdentifier: Variable] = [rootVertex.id: Variable(seedTensor)]
    var results: [ObjectIdentifier: Variable] = [:]
    withGradMode(createGraph) {
        // Reverse post-order. Popping drops the walk's reference to each vertex, and (unless the
        // graph is retained) each node is released as soon as its rule has run, as PyTorch frees saved
        // tensors: activations die during the pass instead of all at its end. (Every key of
        // `relevant` / `grads` is a vertex alive when the pass began, so no identifier is reused.)
        while let v = order.popLast() {
            defer { if !retainGraph, case .node(let n) = v { n.release() } }
            let id = v.id
            guard relevant[id] == true, let g = grads.removeValue(forKey: id) else { continue }
            if targets != nil, targetIDs.contains(id) { results[id] = g }
            switch v {
            case .node(let node):
                guard let rule = node.rule else { continue }
                let needs = node.edges.map { relevant[$0.id] == true }
                guard needs.contains(true) else { continue }
                if AnomalyMode.enabled { AnomalyMode.backwardOf = (node.name, node.layer) }
                let gs = rule(g, needs)
                if AnomalyMode.enabled { AnomalyMode.checkBackward(node, incoming: g, gs) }
                precondition(gs.count == node.edges.count, "op \(node.name): rule returned \(gs.count) grads")
                for (i, (input, gi)) in zip(node.edges, gs).enumerated() where needs[i] {
                    guard let gi else { continue }
                    precondition(gi.shape == node.inputShapes[i],
                                 "op \(node.name): gradient \(gi.shape) for input \(i) of shape \(node.inputShapes[i])")
                    let iid = input.id
                    grads[iid] = grads[iid].map { add($0, gi) } ?? gi
                }
            case .leaf(let leaf):
                if targets == nil, leaf.requiresGrad {
                    leaf.grad = leaf.grad.map { $0 + g.value } ?? g.value
                }
            }
        }
    }
    return results
}
