console.log("thanks")
