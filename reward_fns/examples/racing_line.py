# Follow the racing line at its speed: the Python twin of racing_line.rhai
# (tested to agree). chicane's own params keys: `chicane track raceline`
# computes the line for the car; DeepRacer has none.
def reward_function(params):
    if not params["all_wheels_on_track"]:
        return 1e-3
    half = params["track_width"] / 2.0
    on_line = max(0.0, 1.0 - params["racing_line_distance"] / half)
    target = max(params["racing_line_speed"], 0.1)
    speed_fit = max(0.0, 1.0 - abs(params["speed"] - target) / target)
    return float(on_line * on_line + speed_fit * speed_fit)
