#if canImport(Glibc)
import Glibc
#endif
import SwnetCNI

exit(CNIPlugin.run())
