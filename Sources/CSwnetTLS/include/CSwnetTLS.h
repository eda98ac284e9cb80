#ifndef CSWNET_TLS_H
#define CSWNET_TLS_H
// TLS client connections through OpenSSL, loaded with dlopen on first use: linking libssl
// would cost every swnet command dynamic-loader work, and most never speak TLS.
#include <stddef.h>
#include <sys/types.h>

typedef struct swnet_tls_context swnet_tls_context;
typedef struct swnet_tls swnet_tls;

// Results of swnet_tls_read and swnet_tls_write besides a byte count.
#define SWNET_TLS_FAILED (-1)     // `error` says why; the connection is unusable
#define SWNET_TLS_TIMED_OUT (-2)  // the socket's SO_RCVTIMEO/SO_SNDTIMEO expired

// Client settings shared by connections: peers are verified against the CA certificates in
// ca_file (NULL: the system's default paths); cert_file/key_file (both or neither) identify
// this client. Returns NULL with a one-line reason in `error`.
swnet_tls_context *swnet_tls_context_new(const char *ca_file, const char *cert_file, const char *key_file,
                                         char *error, size_t error_size);
void swnet_tls_context_free(swnet_tls_context *context);

// Handshakes over the connected, blocking socket fd (which stays the caller's to close) and
// checks that the peer's certificate is for `host`, a DNS name or an IP literal. Returns NULL
// with a one-line reason in `error` (*timed_out set when a socket timeout cut it short).
swnet_tls *swnet_tls_connect(swnet_tls_context *context, int fd, const char *host, int *timed_out,
                             char *error, size_t error_size);

// 0 from read: the peer closed the connection.
ssize_t swnet_tls_read(swnet_tls *tls, void *buffer, size_t size, char *error, size_t error_size);
ssize_t swnet_tls_write(swnet_tls *tls, const void *buffer, size_t size, char *error, size_t error_size);

// Decrypted bytes buffered inside OpenSSL: poll() on the socket does not see them.
int swnet_tls_pending(swnet_tls *tls);

// Frees the connection without waiting for the peer; the socket is left open.
void swnet_tls_free(swnet_tls *tls);

#endif
