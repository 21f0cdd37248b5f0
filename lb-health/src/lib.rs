//! Pure health logic of `lb`: the per-server rise/fall state machine and the check protocols as
//! codecs over bytes. No I/O and no clock: `now` is an argument.
