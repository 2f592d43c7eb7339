#ifndef IGUANA_IGUANA_H
#define IGUANA_IGUANA_H
#include <iguana/types.h>
#include <iguana/pd.h>
#include <iguana/memsection.h>
#include <iguana/thread.h>
#include <iguana/session.h>
#include <iguana/cap.h>
#include <iguana/eas.h>
#include <iguana/hardware.h>
#include <iguana/physpool.h>
#endif
