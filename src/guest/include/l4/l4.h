/* Everything of libl4 in one include. */
#ifndef L4_L4_H
#define L4_L4_H

#include <l4/types.h>
#include <l4/utcb.h>
#include <l4/message.h>
#include <l4/ipc.h>
#include <l4/thread.h>
#include <l4/schedule.h>
#include <l4/space.h>
#include <l4/kip.h>
#include <l4/kdebug.h>
#include <l4/sigma0.h>

#endif /* L4_L4_H */
