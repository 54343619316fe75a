import Foundation
import CoreMetrics
import Metrics
import Prometheus

/// The server's metrics through swift-metrics, kept in a Prometheus registry of this server's
/// own (not the process-wide `MetricsSystem`, which can be bootstrapped once only: tests run
/// several servers in one process). `/metrics` prints the registry in Prometheus text format.
///
///   img2img_http_requests_total{route,status}          every answered request
///   img2img_http_errors_total{route,status}            those with status >= 400
///   img2img_http_request_duration_seconds{route}       latency histogram (arrival to answer)
///   img2img_translate_duration_seconds{model}          decode + translate + encode on the worker
///   img2img_queue_length                                requests admitted and not yet answered
public final class ServeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    let queueLength: CoreMetrics.Gauge

    /// Latency buckets: fast endpoints take milliseconds; a translation takes 0.1-10 s on 2 cores.
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = Self.buckets
        factory = f
        queueLength = CoreMetrics.Gauge(label: "img2img_queue_length", factory: f)
        queueLength.record(0)
    }

    func request(route: String, status: Int, seconds: Double) {
        let dims = [("route", route), ("status", String(status))]
        CoreMetrics.Counter(label: "img2img_http_requests_total", dimensions: dims, factory: factory).increment()
        if status >= 400 {
            CoreMetrics.Counter(label: "img2img_http_errors_total", dimensions: dims, factory: factory).increment()
        }
        Metrics.Timer(label: "img2img_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    func translation(model: String, seconds: Double) {
        Metrics.Timer(label: "img2img_translate_duration_seconds", dimensions: [("model", model)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    func queue(length: Int) { queueLength.record(length) }

    /// The Prometheus text exposition of every metric.
    public func text() -> [UInt8] { registry.emitToBuffer() }
}
