// Closes a step: resets the per-step spike counts, notes where the step's spikes end in the
// record, advances `Control.next_step`, and halts the submission when the record could not hold
// another step (the host reads it back and continues: no spike is dropped) or a state became
// non-finite. Bookkeeping only, so it has no CPU twin.

@compute @workgroup_size(1)
fn main() {
    if (!step_is_live()) {
        return;
    }
    for (var p = 0u; p < run.n_populations; p++) {
        atomicStore(&spike_counts[p], 0u);
    }
    let count = atomicLoad(&control.record_count);
    step_ends[step.batch_step] = count;
    control.steps_done = control.steps_done + 1u;
    control.next_step_lo = control.next_step_lo + 1u;
    if (control.next_step_lo == 0u) {
        control.next_step_hi = control.next_step_hi + 1u;
    }
    let full = count > run.record_capacity - run.n_neurons;
    let fault = atomicLoad(&control.fault_neuron) != NO_FAULT
        || atomicLoad(&control.overflow_neuron) != NO_FAULT;
    if (full || fault) {
        control.halted = 1u;
    }
}
