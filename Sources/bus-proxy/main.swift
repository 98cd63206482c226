import ArgumentParser
import OperatorKit
import ServiceKit

/// The bus's XSUB/XPUB forwarder.
@main
struct BusProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus-proxy",
        abstract: "Forward every publisher's messages to every subscriber (XSUB → XPUB)."
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("xsub-bind"), help: "Bind for publishers (default: bus.proxy_xsub_bind, tcp://127.0.0.1:7750).")
    var xsubBind: String?

    @Option(name: .customLong("xpub-bind"), help: "Bind for subscribers (default: bus.proxy_xpub_bind, tcp://127.0.0.1:7751).")
    var xpubBind: String?

    mutating func run() async throws {
        let xsubBind = self.xsubBind
        let xpubBind = self.xpubBind
        let status = await ServiceRuntime.run(service: "bus-proxy", options: common) { environment in
            [
                ProxyService(
                    environment: environment,
                    frontend: xsubBind ?? environment.config.bus.proxyXsubBind,
                    backend: xpubBind ?? environment.config.bus.proxyXpubBind)
            ]
        }
        if status != 0 { throw ExitCode(status) }
    }
}
