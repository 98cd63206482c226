#ifndef TICKWIRE_CCURL_SHIM_H
#define TICKWIRE_CCURL_SHIM_H
#include <curl/curl.h>

/* Used only by the Curl target (Sources/Curl/LibcurlCalls.swift), the package's one libcurl
   wrapper. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call;
   these typed wrappers can be. */
static inline CURLcode tw_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tw_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tw_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tw_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tw_curl_setopt_write_callback(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb); }
static inline CURLcode tw_curl_setopt_header_callback(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb); }
/* The upload source (SMTP message data). */
static inline CURLcode tw_curl_setopt_read_callback(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, cb); }
/* Progress callback: returning non-zero aborts the transfer (task cancellation of a transfer
   on a thread of its own). */
static inline CURLcode tw_curl_setopt_xferinfo_callback(CURL *h, int (*cb)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }
static inline CURLcode tw_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
/* The result code of a CURLMSG_DONE message (a union member in C). */
static inline CURLcode tw_curl_msg_result(const CURLMsg *m) { return m->data.result; }
/* CURLAUTH_BASIC is a macro with a cast, which Swift does not import. */
static inline long tw_curl_auth_basic(void) { return (long)CURLAUTH_BASIC; }

#endif
