import SwnetCommands

SwnetCommand.runFromCommandLine()
