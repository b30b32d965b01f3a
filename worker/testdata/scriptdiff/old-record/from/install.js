console.log("building native bits")
