#ifndef TICKWIRE_CZEROMQ_SHIM_H
#define TICKWIRE_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>

/* libzmq's own errno values are macros built on ZMQ_HAUSNUMERO, which Swift
   does not import; expose them as constants. */
static const int tw_ETERM = ETERM;
static const int tw_EFSM = EFSM;
static const int tw_ENOCOMPATPROTO = ENOCOMPATPROTO;
static const int tw_EMTHREAD = EMTHREAD;

#endif
