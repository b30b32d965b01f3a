#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "post.h"

int post_json(const char *host, const char *path, const char *body)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct timeval tv = { 5, 0 };
    size_t blen = strlen(body), hcap, total, off = 0;
    char *req, tmp[512];
    int fd = -1, hl;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, "80", &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;

    hcap = 512 + strlen(host) + strlen(path);
    req = malloc(hcap + blen);
    if (req == NULL) {
        close(fd);
        return -1;
    }
    hl = snprintf(req, hcap,
                  "POST %s HTTP/1.1\r\n"
                  "Host: %s\r\n"
                  "User-Agent: tiffsqueeze-selftest\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: %lu\r\n"
                  "Connection: close\r\n\r\n",
                  path, host, (unsigned long)blen);
    if (hl < 0 || (size_t)hl >= hcap) {
        free(req);
        close(fd);
        return -1;
    }
    memcpy(req + hl, body, blen);
    total = (size_t)hl + blen;
    while (off < total) {
        ssize_t w = write(fd, req + off, total - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    while (read(fd, tmp, sizeof tmp) > 0)
        ;
    close(fd);
    free(req);
    return off == total ? 0 : -1;
}
