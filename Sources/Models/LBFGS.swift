import Foundation

/// Limited-memory BFGS (Nocedal & Wright, algorithm 7.4/7.5) with a backtracking Armijo line
/// search, for the smooth convex objectives of this module (multinomial logistic regression,
/// the SVM's calibration). `evaluate(x, &gradient)` returns f(x) and fills the gradient.
///
/// Stops when the largest gradient component is at most `gradientTolerance`, when an
/// iteration lowers f by less than `relativeTolerance·max(|f|, 1)`, or after `maxIterations`.
func minimizeLBFGS(
    start: [Double],
    memory: Int = 10,
    maxIterations: Int = 1000,
    gradientTolerance: Double,
    relativeTolerance: Double = 1e-13,
    evaluate: (_ x: [Double], _ gradient: inout [Double]) -> Double
) -> [Double] {
    let n = start.count
    var x = start
    var g = [Double](repeating: 0, count: n)
    var f = evaluate(x, &g)
    var sHistory: [[Double]] = [], yHistory: [[Double]] = [], rhoHistory: [Double] = []
    var direction = [Double](repeating: 0, count: n)
    var alpha = [Double](repeating: 0, count: memory)
    var trialGradient = [Double](repeating: 0, count: n)
    var trial = [Double](repeating: 0, count: n)

    for iteration in 0..<maxIterations {
        if g.reduce(0, { max($0, abs($1)) }) <= gradientTolerance { break }
        // Two-loop recursion: direction = -H·g.
        direction = g
        for i in stride(from: sHistory.count - 1, through: 0, by: -1) {
            alpha[i] = rhoHistory[i] * dot(sHistory[i], direction)
            axpy(-alpha[i], yHistory[i], &direction)
        }
        if let s = sHistory.last, let y = yHistory.last {
            let gamma = dot(s, y) / dot(y, y)
            for j in 0..<n { direction[j] *= gamma }
        } else {
            let norm = dot(g, g).squareRoot()
            for j in 0..<n { direction[j] /= max(norm, 1) }
        }
        for i in 0..<sHistory.count {
            let beta = rhoHistory[i] * dot(yHistory[i], direction)
            axpy(alpha[i] - beta, sHistory[i], &direction)
        }
        for j in 0..<n { direction[j] = -direction[j] }
        var slope = dot(g, direction)
        if slope >= 0 {  // Not a descent direction (numerical trouble): restart from steepest descent.
            sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
            for j in 0..<n { direction[j] = -g[j] }
            slope = dot(g, direction)
        }
        // Backtracking line search (Armijo, c = 1e-4).
        var step = 1.0
        var trialValue = 0.0
        var accepted = false
        for _ in 0..<60 {
            for j in 0..<n { trial[j] = x[j] + step * direction[j] }
            trialValue = evaluate(trial, &trialGradient)
            if trialValue.isFinite, trialValue <= f + 1e-4 * step * slope { accepted = true; break }
            step *= 0.5
        }
        guard accepted else { break }
        var s = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
        for j in 0..<n { s[j] = trial[j] - x[j]; y[j] = trialGradient[j] - g[j] }
        let sy = dot(s, y)
        if sy > 1e-12 * dot(y, y).squareRoot() * dot(s, s).squareRoot() {
            if sHistory.count == memory { sHistory.removeFirst(); yHistory.removeFirst(); rhoHistory.removeFirst() }
            sHistory.append(s); yHistory.append(y); rhoHistory.append(1 / sy)
        }
        let decrease = f - trialValue
        swap(&x, &trial)
        swap(&g, &trialGradient)
        f = trialValue
        if iteration > 0, decrease <= relativeTolerance * max(abs(f), 1) { break }
    }
    return x
}

@inline(__always)
func dot(_ a: [Double], _ b: [Double]) -> Double {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            var total = 0.0
            for i in 0..<min(a.count, b.count) { total += a[i] * b[i] }
            return total
        }
    }
}

@inline(__always)
func axpy(_ a: Double, _ x: [Double], _ y: inout [Double]) {
    x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
            for i in 0..<x.count { y[i] += a * x[i] }
        }
    }
}
