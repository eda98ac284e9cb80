#include "CSwnetTLS.h"
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// The OpenSSL functions used here, resolved from libssl.so.3 (which pulls in libcrypto) on
// first use; the headers only supply types and constants.
#define OPENSSL_FUNCTIONS(X) \
    X(TLS_client_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_set_verify) X(SSL_CTX_ctrl) \
    X(SSL_CTX_set_options) X(SSL_CTX_load_verify_locations) X(SSL_CTX_set_default_verify_paths) \
    X(SSL_CTX_use_certificate_chain_file) X(SSL_CTX_use_PrivateKey_file) X(SSL_CTX_check_private_key) \
    X(SSL_new) X(SSL_free) X(SSL_set_fd) X(SSL_set1_host) X(SSL_ctrl) X(SSL_get0_param) \
    X(X509_VERIFY_PARAM_set1_ip_asc) X(SSL_connect) X(SSL_read) X(SSL_write) X(SSL_pending) \
    X(SSL_get_error) X(SSL_get_verify_result) X(X509_verify_cert_error_string) \
    X(ERR_get_error) X(ERR_clear_error) X(ERR_error_string_n)

#define DECLARE_POINTER(name) static __typeof__(name) *p_##name;
OPENSSL_FUNCTIONS(DECLARE_POINTER)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_failure[256];  // empty once everything resolved

static void load_openssl(void) {
    void *library = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(load_failure, sizeof load_failure, "cannot load OpenSSL: %s", dlerror());
        return;
    }
#define RESOLVE_POINTER(name) \
    if (!(p_##name = (__typeof__(name) *)dlsym(library, #name))) { \
        snprintf(load_failure, sizeof load_failure, "cannot load OpenSSL: libssl.so.3 lacks %s", #name); \
        return; \
    }
    OPENSSL_FUNCTIONS(RESOLVE_POINTER)
}

static int openssl_loaded(char *error, size_t error_size) {
    pthread_once(&load_once, load_openssl);
    if (load_failure[0] == '\0') return 1;
    snprintf(error, error_size, "%s", load_failure);
    return 0;
}

// "what: <OpenSSL's reason>", taking the oldest queued error (the cause; later ones are follow-ups).
static void describe_openssl_error(const char *what, char *error, size_t error_size) {
    unsigned long code = p_ERR_get_error();
    if (code == 0) {
        snprintf(error, error_size, "%s", what);
    } else {
        char reason[256];
        p_ERR_error_string_n(code, reason, sizeof reason);
        snprintf(error, error_size, "%s: %s", what, reason);
    }
    p_ERR_clear_error();
}

// OpenSSL writes with write(2), which raises SIGPIPE when the peer has reset the connection.
// The signal is blocked on this thread around each call, and one raised meanwhile discarded.
struct sigpipe_guard {
    sigset_t previous_mask;
    int was_pending;
};

static void block_sigpipe(struct sigpipe_guard *guard) {
    sigset_t sigpipe_only, pending;
    sigemptyset(&sigpipe_only);
    sigaddset(&sigpipe_only, SIGPIPE);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_only, &guard->previous_mask);
}

static void restore_sigpipe(struct sigpipe_guard *guard) {
    if (!guard->was_pending) {
        sigset_t sigpipe_only;
        sigemptyset(&sigpipe_only);
        sigaddset(&sigpipe_only, SIGPIPE);
        struct timespec no_wait = { 0, 0 };
        while (sigtimedwait(&sigpipe_only, NULL, &no_wait) == SIGPIPE) {}
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous_mask, NULL);
}

// Classifies a failed SSL_connect/read/write (result `ret`, errno `saved_errno` right after it).
static ssize_t io_failure(SSL *ssl, int ret, int saved_errno, const char *what, char *error, size_t error_size) {
    switch (p_SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        p_ERR_clear_error();
        snprintf(error, error_size, "%s: timed out", what);
        return SWNET_TLS_TIMED_OUT;
    case SSL_ERROR_ZERO_RETURN:
        p_ERR_clear_error();
        snprintf(error, error_size, "%s: the peer closed the connection", what);
        return SWNET_TLS_FAILED;
    case SSL_ERROR_SYSCALL:
        if (saved_errno != 0) {
            p_ERR_clear_error();
            snprintf(error, error_size, "%s: %s", what, strerror(saved_errno));
            return SWNET_TLS_FAILED;
        }
        // fall through: the reason, if any, is in OpenSSL's error queue
    default:
        describe_openssl_error(what, error, error_size);
        return SWNET_TLS_FAILED;
    }
}

swnet_tls_context *swnet_tls_context_new(const char *ca_file, const char *cert_file, const char *key_file,
                                         char *error, size_t error_size) {
    if (!openssl_loaded(error, error_size)) return NULL;
    p_ERR_clear_error();
    SSL_CTX *context = p_SSL_CTX_new(p_TLS_client_method());
    if (!context) {
        describe_openssl_error("cannot create a TLS context", error, error_size);
        return NULL;
    }
    p_SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    p_SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    // HTTP framing detects truncation, so a peer closing without close_notify is a plain EOF.
    p_SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
    char what[512];
    int loaded = ca_file ? p_SSL_CTX_load_verify_locations(context, ca_file, NULL)
                         : p_SSL_CTX_set_default_verify_paths(context);
    if (loaded != 1) {
        snprintf(what, sizeof what, "cannot load CA certificates from %s", ca_file ? ca_file : "the system");
    } else if (cert_file && p_SSL_CTX_use_certificate_chain_file(context, cert_file) != 1) {
        snprintf(what, sizeof what, "cannot load the certificate %s", cert_file);
    } else if (key_file && p_SSL_CTX_use_PrivateKey_file(context, key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "cannot load the key %s", key_file);
    } else if (cert_file && key_file && p_SSL_CTX_check_private_key(context) != 1) {
        snprintf(what, sizeof what, "the key %s does not match the certificate %s", key_file, cert_file);
    } else {
        return (swnet_tls_context *)context;
    }
    describe_openssl_error(what, error, error_size);
    p_SSL_CTX_free(context);
    return NULL;
}

void swnet_tls_context_free(swnet_tls_context *context) {
    p_SSL_CTX_free((SSL_CTX *)context);
}

// IP literals are matched against the certificate's IP SANs, names against its DNS names
// (and sent as SNI).
static int expect_peer(SSL *ssl, const char *host) {
    unsigned char address[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1) {
        return p_X509_VERIFY_PARAM_set1_ip_asc(p_SSL_get0_param(ssl), host) == 1;
    }
    return p_SSL_set1_host(ssl, host) == 1
        && p_SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)host) == 1;
}

swnet_tls *swnet_tls_connect(swnet_tls_context *context, int fd, const char *host, int *timed_out,
                             char *error, size_t error_size) {
    *timed_out = 0;
    p_ERR_clear_error();
    SSL *ssl = p_SSL_new((SSL_CTX *)context);
    if (!ssl) {
        describe_openssl_error("cannot create a TLS connection", error, error_size);
        return NULL;
    }
    if (p_SSL_set_fd(ssl, fd) != 1 || !expect_peer(ssl, host)) {
        describe_openssl_error("cannot set up a TLS connection", error, error_size);
        p_SSL_free(ssl);
        return NULL;
    }
    struct sigpipe_guard guard;
    block_sigpipe(&guard);
    int ret = p_SSL_connect(ssl);
    int saved_errno = errno;
    restore_sigpipe(&guard);
    if (ret == 1) return (swnet_tls *)ssl;

    long verification = p_SSL_get_verify_result(ssl);
    char reason[512];
    *timed_out = io_failure(ssl, ret, saved_errno, "TLS handshake failed", reason, sizeof reason) == SWNET_TLS_TIMED_OUT;
    if (verification != X509_V_OK) {
        snprintf(error, error_size, "%s (%s)", reason, p_X509_verify_cert_error_string(verification));
    } else {
        snprintf(error, error_size, "%s", reason);
    }
    p_SSL_free(ssl);
    return NULL;
}

ssize_t swnet_tls_read(swnet_tls *tls, void *buffer, size_t size, char *error, size_t error_size) {
    SSL *ssl = (SSL *)tls;
    int chunk = size > INT32_MAX ? INT32_MAX : (int)size;
    p_ERR_clear_error();
    struct sigpipe_guard guard;
    block_sigpipe(&guard);
    int ret = p_SSL_read(ssl, buffer, chunk);
    int saved_errno = errno;
    restore_sigpipe(&guard);
    if (ret > 0) return ret;
    if (p_SSL_get_error(ssl, ret) == SSL_ERROR_ZERO_RETURN) return 0;
    return io_failure(ssl, ret, saved_errno, "TLS read failed", error, error_size);
}

ssize_t swnet_tls_write(swnet_tls *tls, const void *buffer, size_t size, char *error, size_t error_size) {
    SSL *ssl = (SSL *)tls;
    int chunk = size > INT32_MAX ? INT32_MAX : (int)size;
    p_ERR_clear_error();
    struct sigpipe_guard guard;
    block_sigpipe(&guard);
    int ret = p_SSL_write(ssl, buffer, chunk);
    int saved_errno = errno;
    restore_sigpipe(&guard);
    if (ret > 0) return ret;
    return io_failure(ssl, ret, saved_errno, "TLS write failed", error, error_size);
}

int swnet_tls_pending(swnet_tls *tls) {
    return p_SSL_pending((SSL *)tls);
}

void swnet_tls_free(swnet_tls *tls) {
    p_SSL_free((SSL *)tls);
}
