#if canImport(Glibc)
import Glibc
#endif
import SwnetCommands
import SwnetContainers

// `swnet run -d` starts this executable again as the container's monitor: that comes first,
// before any parsing of a command line.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == ContainerMonitor.argument {
    exit(ContainerMonitor.main(Array(CommandLine.arguments.dropFirst())))
}
SwnetCommand.runFromCommandLine()
