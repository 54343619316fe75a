import NIOCore

/// Notes when the client has closed its side of the connection.
///
/// Hummingbird allows TCP half-closure, so a client that hangs up leaves the channel "active"
/// (we could still write to it) and only this event says it is gone. A translation still queued
/// for such a client is skipped (`WorkQueue.Slot.run`'s `stillWanted`): an HTTP client that
/// half-closes after its request and still wants the answer is rare enough to pay that price.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private(set) var inputClosed = false

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { inputClosed = true }
        context.fireUserInboundEventTriggered(event)
    }

    /// Whether the client on `channel` is still there: the channel is open and its input is not
    /// closed. Blocks until the channel's event loop answers; call it off the event loops.
    static func isConnected(_ channel: any Channel) -> Bool {
        let answer = channel.eventLoop.submit { () -> Bool in
            guard channel.isActive else { return false }
            let h = try? channel.pipeline.syncOperations.handler(type: ClientGoneHandler.self)
            return !(h?.inputClosed ?? false)
        }
        return (try? answer.wait()) ?? false
    }
}

@available(*, unavailable)
extension ClientGoneHandler: Sendable {}
