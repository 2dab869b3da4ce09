# The racing recipe: the Python twin of race.rhai (tested to agree; see its
# comments). chicane's own params keys for the racing line: `chicane track
# raceline` computes the line for the car; DeepRacer has none.
def reward_function(params):
    if not params["all_wheels_on_track"]:
        return 1e-3
    half = params["track_width"] / 2.0
    on_line = max(0.0, 1.0 - params["racing_line_distance"] / half)
    target = max(params["racing_line_speed"], 0.1)
    speed_fit = max(0.0, 1.0 - abs(params["speed"] - target) / target)
    reward = (on_line * on_line + speed_fit * speed_fit) * params["speed"] / 4.0
    steps = params["steps"]
    if steps > 0:
        reward += params["progress"] / steps
        if params["progress"] >= 100.0:
            reward += 10000.0 / steps
    return float(max(reward, 1e-3))
