/*
 * The page a native Iguana program and a Linux process exchange data through
 * (wombat-shared and src/guest/linux/iguana-peer.c).  Plain C, no L4 or libc
 * headers: both kinds of program include it.
 */
#ifndef WOMBAT_SHARED_PAGE_H
#define WOMBAT_SHARED_PAGE_H

#define SHARED_EMPTY 0u
#define SHARED_REQUEST 1u       /* the native side posted a request */
#define SHARED_ANSWER 2u        /* the Linux side posted its answer */
#define SHARED_DONE 3u          /* the native side checked (and printed) it */
#define SHARED_TEXT 1000

struct shared_page {
    volatile unsigned int state;
    unsigned int request_len;
    unsigned int answer_len;
    unsigned int reserved;
    char request[SHARED_TEXT];
    char answer[SHARED_TEXT];
};

#endif
